package channel

import (
	"context"
	"crypto/sha256"
	"encoding"
	"fmt"
	"hash"
	"io"
	"os"
	"path/filepath"

	"github.com/shardwise/shardwise/internal/fsutil"
)

// FetchFile fetches a channel into the file dest. Bytes go to dest+".part";
// a .part left by an earlier, interrupted fetch is resumed from its length.
// After a broken connection the .part is fsynced and the fetch resumes from
// its length (the bytes durably written). Only when the total size and the
// SHA-256 verified is the .part fsynced and renamed to dest (and its
// directory fsynced); then verified, if not nil, is called before the
// server is told that the channel was consumed.
//
// It returns an error wrapping ErrRefused, ErrServerAuth, ErrUpstreamGone,
// ErrUpstreamFailed or ErrDeliver, or ctx's error.
func FetchFile(ctx context.Context, req Request, dest string, verified func(Result) error) (Result, error) {
	if err := os.MkdirAll(filepath.Dir(dest), 0o755); err != nil {
		return Result{}, fmt.Errorf("channel %s: %w: %w", req.Channel, ErrDeliver, err)
	}
	fs, err := openFileSink(dest, verified)
	if err != nil {
		return Result{}, fmt.Errorf("channel %s: %w: %w", req.Channel, ErrDeliver, err)
	}
	defer fs.abandon()
	as := newAsyncSink(fs)
	defer as.close()
	return fetch(ctx, &req, as)
}

// fileSink writes a transfer to path.part and renames it when verified.
type fileSink struct {
	path, part string
	f          *os.File
	n          int64
	written    int64 // bytes handed to startWriteback
	h          hash.Hash
	onVerified func(Result) error
	done       bool
	// deferred: bytes are not hashed (deferHash); canDefer: every byte of
	// the part file so far came in vouched transfers of this fetch.
	deferred, canDefer bool
}

// openFileSink opens (or resumes) path.part, hashing what it holds.
func openFileSink(path string, onVerified func(Result) error) (*fileSink, error) {
	s := &fileSink{path: path, part: path + ".part", h: sha256.New(), onVerified: onVerified}
	f, err := os.OpenFile(s.part, os.O_CREATE|os.O_RDWR, 0o644)
	if err != nil {
		return nil, err
	}
	s.f = f
	n, err := io.Copy(s.h, f)
	if err != nil {
		f.Close()
		return nil, fmt.Errorf("resume %s: %w", s.part, err)
	}
	s.n, s.written, s.canDefer = n, n, n == 0
	return s, nil
}

func (s *fileSink) offset() int64 { return s.n }

// writebackChunk is how many bytes are written before their writeback to
// disk is started.
const writebackChunk = 8 << 20

func (s *fileSink) write(p []byte) error {
	n, err := s.writeFile(p)
	s.hash(p[:n])
	return err
}

// writeFile appends p to the file without hashing it (asyncSink hashes on
// another goroutine); it returns the bytes written.
func (s *fileSink) writeFile(p []byte) (int, error) {
	n, err := s.f.Write(p)
	s.advance(int64(n))
	return n, err
}

// advance counts n bytes appended to the file, starting their writeback
// every writebackChunk.
func (s *fileSink) advance(n int64) {
	s.n += n
	if s.n-s.written >= writebackChunk {
		startWriteback(s.f, s.written, s.n-s.written)
		s.written = s.n
	}
}

// hash adds bytes written by writeFile, in order, to the SHA-256, unless
// hashing is deferred.
func (s *fileSink) hash(p []byte) {
	if !s.deferred {
		s.h.Write(p)
	}
}

// deferHash decides, at the start of a transfer, whether the sink hashes
// what it writes. It skips the SHA-256 only while every byte of the part
// file came through vouched transfers (TLS, and the CRC-32C of every frame
// from the producer's publish pass, codecRawStored): those bytes are the
// published ones, so the SHA-256 the producer computed in that pass, which
// the end frame carries, is theirs (see docs/channels.md, "Integrity").
// A part file left by an earlier process is always hashed. When a transfer
// is not vouched after earlier ones were, the part file is read back and
// hashed, and hashing goes on from there.
func (s *fileSink) deferHash(vouched bool) (bool, error) {
	if vouched && s.canDefer {
		s.deferred = true
		return true, nil
	}
	s.canDefer = false
	if s.deferred {
		s.deferred = false
		s.h.Reset()
		if _, err := io.Copy(s.h, io.NewSectionReader(s.f, 0, s.n)); err != nil {
			return false, fmt.Errorf("hash %s: %w", s.part, err)
		}
	}
	return false, nil
}

func (s *fileSink) sum() [sha256.Size]byte { return [sha256.Size]byte(s.h.Sum(nil)) }

func (s *fileSink) checkpoint() error { return s.f.Sync() }

func (s *fileSink) reset() (bool, error) {
	if err := s.f.Truncate(0); err != nil {
		return false, err
	}
	if _, err := s.f.Seek(0, io.SeekStart); err != nil {
		return false, err
	}
	s.h.Reset()
	s.n, s.written = 0, 0
	return true, nil
}

// verified makes the file durable under its final name.
func (s *fileSink) verified(res Result) error {
	if err := s.f.Sync(); err != nil {
		return err
	}
	if err := s.f.Close(); err != nil {
		return err
	}
	s.done = true
	if err := os.Rename(s.part, s.path); err != nil {
		return err
	}
	if err := fsutil.SyncDir(filepath.Dir(s.path)); err != nil {
		return err
	}
	if s.onVerified != nil {
		return s.onVerified(res)
	}
	return nil
}

// abandon closes the .part of an unfinished fetch, keeping it for a resume.
func (s *fileSink) abandon() {
	if !s.done {
		s.f.Close()
	}
}

// StreamState is how far a stream was delivered: the resume point of a
// FetchStream after the consumer's plugin restarted.
type StreamState struct {
	// Offset is the number of bytes delivered.
	Offset int64 `json:"offset"`
	// Hash is the marshalled SHA-256 state of those bytes.
	Hash []byte `json:"hash,omitempty"`
}

// FetchStream fetches a channel while it is produced and writes it to w in
// order, each byte once. It starts at from (nil: the beginning) and, after
// each frame is written to w and before it is acknowledged, calls
// delivered (if not nil) with the new state, for the caller to persist.
// A write to w that blocks holds back the acknowledgements and so, once the
// server's window is full, the producer: that is the back-pressure.
//
// It returns when the whole stream was delivered and verified, with the
// errors of FetchFile; a checksum mismatch is final, since the bytes were
// already handed on.
func FetchStream(ctx context.Context, req Request, w io.Writer, from *StreamState, delivered func(StreamState) error) (Result, error) {
	ss := &streamSink{w: w, h: sha256.New(), delivered: delivered}
	if from != nil {
		if err := ss.restore(*from); err != nil {
			return Result{}, fmt.Errorf("channel %s: resume stream: %w", req.Channel, err)
		}
	}
	return fetch(ctx, &req, ss)
}

type streamSink struct {
	w         io.Writer
	n         int64
	h         hash.Hash
	delivered func(StreamState) error
}

func (s *streamSink) restore(st StreamState) error {
	if len(st.Hash) > 0 {
		if err := s.h.(encoding.BinaryUnmarshaler).UnmarshalBinary(st.Hash); err != nil {
			return err
		}
	} else if st.Offset > 0 {
		return fmt.Errorf("no hash state for offset %d", st.Offset)
	}
	s.n = st.Offset
	return nil
}

func (s *streamSink) offset() int64 { return s.n }

func (s *streamSink) write(p []byte) error {
	n, err := s.w.Write(p)
	s.h.Write(p[:n])
	s.n += int64(n)
	if err != nil {
		return err
	}
	if s.delivered != nil {
		return s.delivered(s.state())
	}
	return nil
}

func (s *streamSink) state() StreamState {
	hs, _ := s.h.(encoding.BinaryMarshaler).MarshalBinary()
	return StreamState{Offset: s.n, Hash: hs}
}

func (s *streamSink) sum() [sha256.Size]byte { return [sha256.Size]byte(s.h.Sum(nil)) }
func (s *streamSink) checkpoint() error      { return nil }
func (s *streamSink) reset() (bool, error)   { return s.n == 0, nil }
func (s *streamSink) verified(Result) error  { return nil }
