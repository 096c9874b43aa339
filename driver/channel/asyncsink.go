package channel

import (
	"crypto/sha256"
	"fmt"
	"sync"
)

// asyncSink runs a fileSink's file writes and its hashing on goroutines of
// their own, as a pipeline: the receiving goroutine reads (and checks)
// frame k+2 while one worker writes frame k+1 to the file and the other
// hashes frame k. Frames are not copied: the transfer reads each frame
// into a buffer the sink lends (buffer) and hands it back with push; the
// buffer comes back to the pool after it was written and hashed. At most
// asyncBuffers frame buffers exist (bounded memory). Everything that needs
// the bytes on disk and hashed (offset after a checkpoint, sum, reset,
// verified) first waits for the pipeline to drain.
type asyncSink struct {
	fs       *fileSink
	writeQ   chan writeJob // frames to write, in order
	hashQ    chan hashJob  // frames written, to hash, in order
	free     chan []byte   // buffers to lend
	pending  sync.WaitGroup
	accepted int64 // bytes pushed

	mu  sync.Mutex
	err error // first write error of the writer

	spliceDone chan error // the writer's answer to splice (Linux)
	spliced    int        // frames delivered by splice (receiver's count)
}

// writeJob is a frame for the writer: a lent buffer, or (splice, Linux)
// the bytes of a raw frame to take from a TCP connection.
type writeJob struct {
	buf []byte
	sp  *spliceJob
}

// hashJob is a written frame for the hasher: a lent buffer to give back,
// or a view of the file (unmap releases it).
type hashJob struct {
	buf   []byte
	unmap func()
}

// asyncBuffers is the number of frame buffers: one being received, and
// the others queued for or in the writer and the hasher.
const asyncBuffers = 6

func newAsyncSink(fs *fileSink) *asyncSink {
	a := &asyncSink{fs: fs, writeQ: make(chan writeJob, asyncBuffers), hashQ: make(chan hashJob, asyncBuffers),
		free: make(chan []byte, asyncBuffers), accepted: fs.offset()}
	for range asyncBuffers {
		a.free <- nil
	}
	go a.writer()
	go a.hasher()
	return a
}

// writer writes queued frames to the file; after a write error it only
// passes buffers on (the fetch ends with the error).
func (a *asyncSink) writer() {
	defer close(a.hashQ)
	for j := range a.writeQ {
		if j.sp != nil {
			a.spliceFrame(j.sp)
			continue
		}
		buf := j.buf
		if a.failure() == nil {
			n, err := a.fs.writeFile(buf)
			if err != nil {
				a.mu.Lock()
				a.err = fmt.Errorf("write %s: %w", a.fs.part, err)
				a.mu.Unlock()
			}
			buf = buf[:n] // hash exactly what the file holds
		} else {
			buf = buf[:0]
		}
		a.hashQ <- hashJob{buf: buf}
	}
}

// hasher adds written frames to the SHA-256 and frees their buffers.
func (a *asyncSink) hasher() {
	for j := range a.hashQ {
		a.fs.hash(j.buf)
		if j.unmap != nil {
			j.unmap()
		} else {
			a.free <- j.buf
		}
		a.pending.Done()
	}
}

func (a *asyncSink) failure() error {
	a.mu.Lock()
	defer a.mu.Unlock()
	return a.err
}

// flush waits until every pushed frame is written and hashed and returns
// the first write error.
func (a *asyncSink) flush() error {
	a.pending.Wait()
	return a.failure()
}

func (a *asyncSink) offset() int64 { return a.accepted }

// buffer lends a buffer of n bytes (waiting for one while all are queued:
// that is the back-pressure on the receiver). It must be given back with
// push or release.
func (a *asyncSink) buffer(n int) []byte {
	b := <-a.free
	if cap(b) < n {
		b = make([]byte, n)
	}
	return b[:n]
}

// release gives back a lent buffer that holds nothing to deliver.
func (a *asyncSink) release(b []byte) { a.free <- b[:0] }

// push queues b, a lent buffer holding the bytes at offset(), for the file
// and the hash; the sink owns b from now on.
func (a *asyncSink) push(b []byte) error {
	if err := a.failure(); err != nil {
		a.release(b)
		return err
	}
	a.pending.Add(1)
	a.accepted += int64(len(b))
	a.writeQ <- writeJob{buf: b}
	return nil
}

// write copies p into a lent buffer and pushes it.
func (a *asyncSink) write(p []byte) error {
	buf := a.buffer(len(p))
	copy(buf, p)
	return a.push(buf)
}

func (a *asyncSink) deferHash(vouched bool) (bool, error) {
	if err := a.flush(); err != nil {
		return false, err
	}
	return a.fs.deferHash(vouched)
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

// close stops the workers after the pipeline drains.
func (a *asyncSink) close() {
	a.flush()
	close(a.writeQ)
}
