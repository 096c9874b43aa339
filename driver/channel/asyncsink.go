package channel

import (
	"crypto/sha256"
	"fmt"
	"sync"
)

// asyncSink runs a fileSink's hashing and file writes on a goroutine of
// their own, so that they overlap with receiving, decompressing and
// checking the next frames. At most asyncDepth frames are queued (bounded
// memory: asyncDepth copies of a frame). Everything that needs the bytes
// on disk (offset after a checkpoint, sum, reset, verified) first waits
// for the queue to drain.
type asyncSink struct {
	fs       *fileSink
	queue    chan []byte
	free     chan []byte
	pending  sync.WaitGroup
	accepted int64 // bytes handed to write

	mu  sync.Mutex
	err error // first write error of the worker
}

const asyncDepth = 4

func newAsyncSink(fs *fileSink) *asyncSink {
	a := &asyncSink{fs: fs, queue: make(chan []byte, asyncDepth), free: make(chan []byte, asyncDepth), accepted: fs.offset()}
	for range asyncDepth {
		a.free <- nil
	}
	go a.run()
	return a
}

func (a *asyncSink) run() {
	for buf := range a.queue {
		if a.failure() == nil {
			if err := a.fs.write(buf); err != nil {
				a.mu.Lock()
				a.err = fmt.Errorf("write %s: %w", a.fs.part, err)
				a.mu.Unlock()
			}
		}
		a.free <- buf
		a.pending.Done()
	}
}

func (a *asyncSink) failure() error {
	a.mu.Lock()
	defer a.mu.Unlock()
	return a.err
}

// flush waits until every queued frame is written and returns the first
// write error.
func (a *asyncSink) flush() error {
	a.pending.Wait()
	return a.failure()
}

func (a *asyncSink) offset() int64 { return a.accepted }

// write copies p into a free buffer and queues it.
func (a *asyncSink) write(p []byte) error {
	if err := a.failure(); err != nil {
		return err
	}
	buf := append((<-a.free)[:0], p...)
	a.pending.Add(1)
	a.queue <- buf
	a.accepted += int64(len(p))
	return nil
}

func (a *asyncSink) sum() [sha256.Size]byte {
	a.flush()
	return a.fs.sum()
}

func (a *asyncSink) checkpoint() error {
	if err := a.flush(); err != nil {
		return err
	}
	a.accepted = a.fs.offset()
	return a.fs.checkpoint()
}

func (a *asyncSink) reset() (bool, error) {
	a.flush()
	a.mu.Lock()
	a.err = nil
	a.mu.Unlock()
	ok, err := a.fs.reset()
	a.accepted = a.fs.offset()
	return ok, err
}

func (a *asyncSink) verified(res Result) error {
	if err := a.flush(); err != nil {
		return err
	}
	return a.fs.verified(res)
}

// close stops the worker after the queue drains.
func (a *asyncSink) close() {
	a.flush()
	close(a.queue)
}
