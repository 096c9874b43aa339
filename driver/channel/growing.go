package channel

import (
	"context"
	"crypto/sha256"
	"errors"
	"fmt"
	"io"
	"os"
	"sync"
	"time"
)

// growingFile is a stream output kept on disk: the regular file the task
// appends to, served while it grows. Unlike a Stream's window in memory
// it survives the plugin: the bytes are in the file (the kernel's page
// cache when the plugin is killed), so a restarted plugin serves a
// consumer's resume offset, whatever it is. The cost is disk instead of
// back-pressure: the producer never waits for its consumer.
type growingFile struct {
	path string

	mu      sync.Mutex
	changed chan struct{} // closed and replaced when the state changes
	done    bool          // finished: size and sum are final
	size    int64
	sum     [sha256.Size]byte
	err     error // set by abort
}

func newGrowingFile(path string) *growingFile {
	return &growingFile{path: path, changed: make(chan struct{})}
}

// finish records the final size in bytes and SHA-256 (the task exited).
func (g *growingFile) finish(size int64, sum [sha256.Size]byte) {
	g.mu.Lock()
	defer g.mu.Unlock()
	if g.done || g.err != nil {
		return
	}
	g.done, g.size, g.sum = true, size, sum
	close(g.changed)
	g.changed = make(chan struct{})
}

// abort ends the stream with err (the task was stopped before it
// finished); readers get it wrapped in ErrStreamAborted. It reports
// whether this call aborted it (false when it was finished or aborted).
func (g *growingFile) abort(err error) bool {
	g.mu.Lock()
	defer g.mu.Unlock()
	if g.done || g.err != nil {
		return false
	}
	g.err = fmt.Errorf("%w: %w", ErrStreamAborted, err)
	close(g.changed)
	g.changed = make(chan struct{})
	return true
}

type growingState struct {
	done    bool
	size    int64
	sum     [sha256.Size]byte
	err     error
	changed <-chan struct{}
}

func (g *growingFile) state() growingState {
	g.mu.Lock()
	defer g.mu.Unlock()
	return growingState{g.done, g.size, g.sum, g.err, g.changed}
}

func (g *growingFile) open() (source, error) {
	f, err := os.Open(g.path)
	if err != nil {
		return nil, fmt.Errorf("stream output %s: %w", g.path, err)
	}
	return &growingSource{g: g, f: f}, nil
}

// growingPoll is how often a reader that caught up with the task looks
// for new bytes (the file gives no notification; 5 ms costs nothing and
// keeps a stream's latency low).
const growingPoll = 5 * time.Millisecond

type growingSource struct {
	g *growingFile
	f *os.File
}

// readAt reads the bytes at off, waiting while the task has not written
// them yet; io.EOF at the end of a finished stream.
func (s *growingSource) readAt(ctx context.Context, p []byte, off int64) (int, error) {
	for {
		st := s.g.state()
		if st.err != nil {
			return 0, st.err
		}
		if st.done {
			if off > st.size {
				return 0, fmt.Errorf("offset %d beyond the stream's %d bytes: %w", off, st.size, ErrOffsetGone)
			}
			p = p[:min(int64(len(p)), st.size-off)]
			if len(p) == 0 {
				return 0, io.EOF
			}
		}
		n, err := s.f.ReadAt(p, off)
		if n > 0 {
			return n, nil
		}
		if err != nil && !errors.Is(err, io.EOF) {
			return 0, err
		}
		if st.done {
			return 0, fmt.Errorf("stream output %s: shorter than its %d bytes: %w", s.g.path, st.size, ErrOffsetGone)
		}
		t := time.NewTimer(growingPoll)
		select {
		case <-ctx.Done():
			t.Stop()
			return 0, ctx.Err()
		case <-st.changed:
			t.Stop()
		case <-t.C:
		}
	}
}

func (s *growingSource) final() (int64, [sha256.Size]byte, error) {
	st := s.g.state()
	if !st.done {
		return 0, st.sum, errors.New("stream not finished")
	}
	return st.size, st.sum, nil
}

func (s *growingSource) ack(int64)     {}
func (s *growingSource) window() int64 { return 0 } // all of it is kept: no acks needed
func (s *growingSource) close()        { s.f.Close() }

func (s *growingSource) size() int64 {
	if st := s.g.state(); st.done {
		return st.size
	}
	return -1
}
