package channel

import (
	"context"
	"crypto/sha256"
	"errors"
	"fmt"
	"hash"
	"io"
	"sync"
)

// ErrOffsetGone is returned when a reader asks for stream bytes that were
// already acknowledged and dropped, or that lie beyond what was produced.
var ErrOffsetGone = errors.New("stream offset not retained")

// ErrStreamAborted is returned to a blocked producer or reader when the
// stream was aborted.
var ErrStreamAborted = errors.New("stream aborted")

// ErrStreamCut: a stream input was not delivered whole when the consumer's
// plugin restarted while its task ran; the task's input pipe lost its
// writer, so the task may have read an early end of file. Its task must
// fail (and run again), never finish on a truncated input.
var ErrStreamCut = errors.New("input stream cut by a plugin restart")

// Stream is a producer's channel whose bytes are served while they are
// written. It keeps the bytes from the consumer's last acknowledged offset
// to the last byte written, at most Window bytes: Write blocks while the
// window is full, which is the back-pressure a slow consumer puts on its
// producer. Memory use is Window bytes whatever the stream's length.
//
// A Stream has one writer and, at a time, one consumer (a reconnecting
// consumer replaces the previous connection and resumes from an offset at or
// after the last acknowledged one).
type Stream struct {
	mu      sync.Mutex
	changed chan struct{} // closed and replaced on every state change
	ring    []byte
	base    int64 // offset of the oldest retained byte (last ack)
	end     int64 // bytes written so far
	closed  bool
	err     error // set by Abort
	hash    hash.Hash
	sum     [sha256.Size]byte
}

// NewStream returns an open stream that retains at most window bytes
// (window > 0).
func NewStream(window int) *Stream {
	if window <= 0 {
		panic("channel: NewStream window must be positive")
	}
	return &Stream{changed: make(chan struct{}), ring: make([]byte, window), hash: sha256.New()}
}

// Window returns the stream's retention window in bytes.
func (s *Stream) Window() int { return len(s.ring) }

// notify wakes every waiter; s.mu must be held.
func (s *Stream) notify() {
	close(s.changed)
	s.changed = make(chan struct{})
}

// wait blocks until the state changes or ctx ends; it releases s.mu while
// waiting and holds it again on return.
func (s *Stream) wait(ctx context.Context) error {
	ch := s.changed
	s.mu.Unlock()
	defer s.mu.Lock()
	select {
	case <-ch:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}

// Write appends p to the stream, blocking while the window is full. It
// returns ErrStreamAborted if the stream is aborted while it waits, and an
// error if the stream is closed.
func (s *Stream) Write(p []byte) (int, error) {
	return s.WriteContext(context.Background(), p)
}

// WriteContext is Write that also gives up when ctx ends.
func (s *Stream) WriteContext(ctx context.Context, p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	written := 0
	for len(p) > 0 {
		if s.err != nil {
			return written, s.err
		}
		if s.closed {
			return written, errors.New("channel: write to closed stream")
		}
		free := len(s.ring) - int(s.end-s.base)
		if free == 0 {
			if err := s.wait(ctx); err != nil {
				return written, err
			}
			continue
		}
		n := s.put(p[:min(free, len(p))])
		s.hash.Write(p[:n])
		p, written, s.end = p[n:], written+n, s.end+int64(n)
		s.notify()
	}
	return written, nil
}

// put copies p (at most the free space) into the ring at s.end.
func (s *Stream) put(p []byte) int {
	at := int(s.end % int64(len(s.ring)))
	n := copy(s.ring[at:], p)
	if n < len(p) {
		n += copy(s.ring, p[n:])
	}
	return n
}

// Close marks the end of the stream; readers get io.EOF after the last
// byte, and Final returns the size and checksum.
func (s *Stream) Close() error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.closed || s.err != nil {
		return nil
	}
	s.closed = true
	copy(s.sum[:], s.hash.Sum(nil))
	s.notify()
	return nil
}

// Abort ends the stream with an error (for example the producer failed);
// blocked writers and readers return err wrapped with ErrStreamAborted.
func (s *Stream) Abort(err error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.err == nil && !s.closed {
		s.err = fmt.Errorf("%w: %w", ErrStreamAborted, err)
		s.notify()
	}
}

// Ack records that the consumer durably received every byte before off, so
// they need not be kept. Acks never move backwards and never past the end.
func (s *Stream) Ack(off int64) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if off > s.base {
		s.base = min(off, s.end)
		s.notify()
	}
}

// ReadAt copies stream bytes starting at off into p, waiting until at least
// one byte is available. It returns io.EOF at the end of a closed stream,
// ErrOffsetGone when off is before the retained window or after the end,
// the abort error, or ctx's error.
func (s *Stream) ReadAt(ctx context.Context, p []byte, off int64) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	for {
		if s.err != nil {
			return 0, s.err
		}
		if off < s.base || off > s.end {
			return 0, fmt.Errorf("offset %d outside retained [%d, %d]: %w", off, s.base, s.end, ErrOffsetGone)
		}
		if off < s.end {
			return s.get(p, off), nil
		}
		if s.closed {
			return 0, io.EOF
		}
		if err := s.wait(ctx); err != nil {
			return 0, err
		}
	}
}

// get copies retained bytes from off into p.
func (s *Stream) get(p []byte, off int64) int {
	n := int(min(int64(len(p)), s.end-off))
	at := int(off % int64(len(s.ring)))
	c := copy(p[:n], s.ring[at:])
	if c < n {
		copy(p[c:n], s.ring)
	}
	return n
}

// Final returns the total size in bytes and the SHA-256 of a closed stream,
// with ok false while it is open.
func (s *Stream) Final() (size int64, sum [sha256.Size]byte, ok bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.end, s.sum, s.closed
}

// Stats returns the bytes written and the acknowledged offset.
func (s *Stream) Stats() (written, acked int64) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.end, s.base
}
