package channel

import (
	"container/list"
	"sync"
)

// frameCache shares the compressed data frames of stored channels between
// connections: an output read by N consumers (N channels sharing one
// stored copy, or one channel fetched again) is compressed once per frame,
// not once per consumer, while the frames stay in the cache. Concurrent
// requests for the same frame wait for the first one's result. Memory is
// bounded: the least recently used frames go once their payloads exceed
// the limit.
//
// Frames are keyed by the stored bytes' SHA-256 and size (computed at
// publish time; channels of the same output share them), offset, length
// and compression level: a frame is never served for other bytes, even
// after a stored file was deleted and another took its place.
type frameCache struct {
	limit int64 // bytes of payloads kept

	mu      sync.Mutex
	size    int64
	entries map[frameKey]*cachedFrame
	lru     *list.List // of frameKey, most recent at the front

	computed int64 // frames computed and kept (for tests and the benchmark)
}

// frameKey names the bytes of one frame of one stored file.
type frameKey struct {
	sum   [32]byte // SHA-256 of the whole stored data
	size  int64
	off   int64
	n     int // requested raw length
	level int
}

type cachedFrame struct {
	ready   chan struct{} // closed when computed
	frame   encodedFrame
	err     error
	element *list.Element // nil while computing or after eviction
}

// encodedFrame is one data frame as sent: raw length and CRC-32C of the
// raw bytes, the payload and whether it is compressed.
type encodedFrame struct {
	rawLen  int
	crc     uint32
	payload []byte
	zstd    bool
}

// DefaultFrameCacheBytes bounds the compressed frames a server keeps.
const DefaultFrameCacheBytes = 64 << 20

func newFrameCache(limit int64) *frameCache {
	return &frameCache{limit: limit, entries: map[frameKey]*cachedFrame{}, lru: list.New()}
}

// get returns the frame of k, computing it with compute (whose payload
// must not be reused by the caller afterwards) when no connection did.
// Errors are not kept: the next request computes again.
func (c *frameCache) get(k frameKey, compute func() (encodedFrame, error)) (encodedFrame, error) {
	c.mu.Lock()
	if e, ok := c.entries[k]; ok {
		if e.element != nil {
			c.lru.MoveToFront(e.element)
		}
		c.mu.Unlock()
		<-e.ready
		return e.frame, e.err
	}
	e := &cachedFrame{ready: make(chan struct{})}
	c.entries[k] = e
	c.mu.Unlock()

	e.frame, e.err = compute()
	c.mu.Lock()
	if e.err != nil {
		delete(c.entries, k)
	} else {
		e.element = c.lru.PushFront(k)
		c.computed++
		c.size += int64(len(e.frame.payload))
		c.evict()
	}
	c.mu.Unlock()
	close(e.ready)
	return e.frame, e.err
}

// evict drops least recently used frames over the limit; c.mu is held.
func (c *frameCache) evict() {
	for c.size > c.limit && c.lru.Len() > 0 {
		k := c.lru.Remove(c.lru.Back()).(frameKey)
		e := c.entries[k]
		delete(c.entries, k)
		c.size -= int64(len(e.frame.payload))
		e.element = nil
	}
}

// stats returns the frames computed so far and the bytes kept.
func (c *frameCache) stats() (computed, size int64) {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.computed, c.size
}
