package channel

import (
	"fmt"
	"io"
	"net"
	"os"
	"syscall"
)

// spliceSink is a sink that takes a raw frame's bytes from a plaintext
// TCP connection straight into its file.
type spliceSink interface {
	// splice delivers the n bytes of a raw frame at offset(): head (read
	// already, with the frame's header) and then the rest from src. It
	// returns once they are in the file and their CRC-32C equals crc;
	// otherwise nothing of the frame stays delivered.
	splice(head []byte, src *net.TCPConn, n int, crc uint32) error
}

// spliceJob is a frame for asyncSink's writer to splice.
type spliceJob struct {
	head []byte
	src  *net.TCPConn
	n    int
	crc  uint32
	done chan error
}

// splice implements spliceSink: the bytes go from the socket into the
// file by splice(2) in the kernel (the way a plain io.Copy receives),
// never through a user-space buffer; the CRC-32C is checked, and the
// SHA-256 computed by the hasher, on a read-only mapping of the file's
// pages. The receiver waits for the writer, which owns the file, to be
// done with the frame: the socket's next bytes are the next header.
func (a *asyncSink) splice(head []byte, src *net.TCPConn, n int, crc uint32) error {
	if err := a.failure(); err != nil {
		return err
	}
	if a.spliceDone == nil {
		a.spliceDone = make(chan error, 1)
	}
	a.pending.Add(1)
	a.writeQ <- writeJob{sp: &spliceJob{head: head, src: src, n: n, crc: crc, done: a.spliceDone}}
	if err := <-a.spliceDone; err != nil {
		return err
	}
	a.accepted += int64(n)
	a.spliced++
	return nil
}

// spliceFrame runs on the writer: it appends the frame to the file, checks
// it and hands its mapping to the hasher; on any failure the file is cut
// back to where the frame began.
func (a *asyncSink) spliceFrame(j *spliceJob) {
	off := a.fs.n
	view, unmap, err := a.fs.spliceFrom(j.head, j.src, j.n)
	if err == nil && crc32Checksum(view) != j.crc {
		err = fmt.Errorf("%w: CRC-32C of frame at offset %d", ErrChecksum, off)
	}
	if err != nil {
		if unmap != nil {
			unmap()
		}
		if terr := a.fs.truncateTo(off); terr != nil {
			a.mu.Lock()
			a.err = fmt.Errorf("cut %s back to %d bytes: %w", a.fs.part, off, terr)
			a.mu.Unlock()
		}
		a.pending.Done()
		j.done <- err
		return
	}
	j.done <- nil
	a.hashQ <- hashJob{buf: view, unmap: unmap}
}

// spliceFrom appends head, then n-len(head) bytes read from src by
// splice(2), to the file, and returns a read-only view of the n bytes
// (unmap releases it).
func (s *fileSink) spliceFrom(head []byte, src *net.TCPConn, n int) ([]byte, func(), error) {
	off := s.n
	if len(head) > 0 {
		if _, err := s.writeFile(head); err != nil {
			return nil, nil, fmt.Errorf("%w: write %s: %w", ErrDeliver, s.part, err)
		}
	}
	rest := int64(n - len(head))
	// os.File.ReadFrom splices from a *net.TCPConn under a LimitedReader.
	got, err := s.f.ReadFrom(&io.LimitedReader{R: src, N: rest})
	s.advance(got)
	if err == nil && got != rest {
		err = fmt.Errorf("frame at offset %d: %w", off, io.ErrUnexpectedEOF)
	}
	if err != nil {
		return nil, nil, fmt.Errorf("read frame: %w", err)
	}
	return mapRange(s.f, off, n)
}

// truncateTo drops the file's bytes from off on.
func (s *fileSink) truncateTo(off int64) error {
	if err := s.f.Truncate(off); err != nil {
		return err
	}
	if _, err := s.f.Seek(off, io.SeekStart); err != nil {
		return err
	}
	s.n, s.written = off, min(s.written, off)
	return nil
}

// mapRange maps the n bytes of f at off read-only.
func mapRange(f *os.File, off int64, n int) ([]byte, func(), error) {
	if n == 0 {
		return nil, nil, nil
	}
	start := off &^ int64(os.Getpagesize()-1)
	m, err := syscall.Mmap(int(f.Fd()), start, int(off+int64(n)-start), syscall.PROT_READ, syscall.MAP_SHARED)
	if err != nil {
		return nil, nil, fmt.Errorf("%w: map %s: %w", ErrDeliver, f.Name(), err)
	}
	return m[off-start:], func() { syscall.Munmap(m) }, nil
}
