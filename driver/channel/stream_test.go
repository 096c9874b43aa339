package channel

import (
	"bytes"
	"context"
	"encoding/hex"
	"errors"
	"sync"
	"testing"
	"time"
)

// gateWriter blocks its first Write until release is closed, signalling
// started when it is reached; check, when set, runs before every Write.
type gateWriter struct {
	once    sync.Once
	started chan struct{}
	release chan struct{}
	check   func(delivered int64)
	buf     bytes.Buffer
}

func (g *gateWriter) Write(p []byte) (int, error) {
	g.once.Do(func() { close(g.started) })
	<-g.release
	if g.check != nil {
		g.check(int64(g.buf.Len()))
	}
	return g.buf.Write(p)
}

// waitStream blocks until cond holds for the stream's (written, acked), by
// following its change notifications; the deadline only guards a hang.
func waitStream(t *testing.T, s *Stream, cond func(written, acked int64) bool) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	s.mu.Lock()
	defer s.mu.Unlock()
	for !cond(s.end, s.base) {
		if err := s.wait(ctx); err != nil {
			t.Fatalf("stream stuck at written=%d acked=%d: %v", s.end, s.base, err)
		}
	}
}

// TestStreamBackPressureBoundsMemory: a consumer that stops reading stops
// the producer once the window is full; the producer never runs more than
// the window ahead of what was delivered, and every byte arrives.
func TestStreamBackPressureBoundsMemory(t *testing.T) {
	const window = 64 << 10
	ts := startServer(t, ServerConfig{FrameSize: 16 << 10})
	st := NewStream(window)
	ts.AddStream(Entry{Run: testRun, Channel: "s", Key: testKey(t)}, st)
	data := textBytes(4<<20, 5)
	produced := make(chan error, 1)
	go func() {
		for p := data; len(p) > 0; p = p[min(len(p), 3000):] {
			if _, err := st.Write(p[:min(len(p), 3000)]); err != nil {
				produced <- err
				return
			}
		}
		produced <- st.Close()
	}()
	var violation error
	w := &gateWriter{started: make(chan struct{}), release: make(chan struct{})}
	w.check = func(delivered int64) {
		if written, _ := st.Stats(); written-delivered > window && violation == nil {
			violation = errors.New("producer ran more than the window ahead of delivery")
		}
	}
	fetched := make(chan error, 1)
	var res Result
	go func() {
		var err error
		res, err = FetchStream(context.Background(), request(t, ts.addr, "s"), w, nil, nil)
		fetched <- err
	}()
	<-w.started
	// The consumer is stuck on its first write: the producer fills the
	// window and blocks there.
	waitStream(t, st, func(written, acked int64) bool { return written == window })
	if written, acked := st.Stats(); written != window || acked != 0 {
		t.Fatalf("written=%d acked=%d with a stalled consumer, want %d and 0", written, acked, window)
	}
	select {
	case err := <-produced:
		t.Fatalf("producer finished with a stalled consumer: %v", err)
	default:
	}
	close(w.release)
	if err := <-fetched; err != nil {
		t.Fatal(err)
	}
	if err := <-produced; err != nil {
		t.Fatal(err)
	}
	if violation != nil {
		t.Fatal(violation)
	}
	if !bytes.Equal(w.buf.Bytes(), data) || res.SHA256 != sha(data) {
		t.Fatal("stream data differs")
	}
}

func TestStreamResumesAfterCut(t *testing.T) {
	ts := startServer(t, ServerConfig{CompressionLevel: 1, FrameSize: 32 << 10})
	st := NewStream(256 << 10)
	ts.AddStream(Entry{Run: testRun, Channel: "s", Key: testKey(t)}, st)
	data := textBytes(3<<20, 6)
	go func() {
		st.Write(data)
		st.Close()
	}()
	proxy := startProxy(t, ts.addr, 100<<10, 7777, 200<<10)
	var out bytes.Buffer
	var last StreamState
	res, err := FetchStream(context.Background(), request(t, proxy.addr(), "s"), &out, nil,
		func(s StreamState) error { last = s; return nil })
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(out.Bytes(), data) || res.Attempts != 4 || last.Offset != int64(len(data)) {
		t.Fatalf("equal=%v attempts=%d last=%d", bytes.Equal(out.Bytes(), data), res.Attempts, last.Offset)
	}
}

// TestStreamResumeFromSavedState: a consumer restarted with the state it
// saved continues where it left off and still verifies the whole stream.
func TestStreamResumeFromSavedState(t *testing.T) {
	ts := startServer(t, ServerConfig{FrameSize: 32 << 10})
	st := NewStream(1 << 20)
	ts.AddStream(Entry{Run: testRun, Channel: "s", Key: testKey(t)}, st)
	data := textBytes(600<<10, 8)
	st.Write(data)
	st.Close()
	first := &stopWriter{stopAfter: 100 << 10}
	var saved StreamState
	_, err := FetchStream(context.Background(), request(t, ts.addr, "s"), first, nil,
		func(s StreamState) error { saved = s; return nil })
	if !errors.Is(err, ErrDeliver) {
		t.Fatalf("err = %v, want ErrDeliver", err)
	}
	var rest bytes.Buffer
	if _, err := FetchStream(context.Background(), request(t, ts.addr, "s"), &rest, &saved, nil); err != nil {
		t.Fatal(err)
	}
	if got := append(first.buf.Bytes(), rest.Bytes()...); !bytes.Equal(got, data) {
		t.Fatalf("resumed stream differs: %d+%d bytes for %d", first.buf.Len(), rest.Len(), len(data))
	}
}

// stopWriter accepts stopAfter bytes, then fails (a consumer that died).
type stopWriter struct {
	stopAfter int
	buf       bytes.Buffer
}

func (s *stopWriter) Write(p []byte) (int, error) {
	if s.buf.Len() >= s.stopAfter {
		return 0, errors.New("consumer gone")
	}
	return s.buf.Write(p)
}

func TestStreamAbortFailsConsumerAtOnce(t *testing.T) {
	ts := startServer(t, ServerConfig{})
	st := NewStream(1 << 10)
	ts.AddStream(Entry{Run: testRun, Channel: "s", Key: testKey(t)}, st)
	st.Write([]byte("partial"))
	st.Abort(errors.New("producer exited 1"))
	var out bytes.Buffer
	res, err := FetchStream(context.Background(), request(t, ts.addr, "s"), &out, nil, nil)
	if !errors.Is(err, ErrUpstreamFailed) || res.Attempts > 1 {
		t.Fatalf("err = %v (attempts %d), want ErrUpstreamFailed at once", err, res.Attempts)
	}
}

func TestStreamRingWrapsAndAcks(t *testing.T) {
	s := NewStream(10)
	ctx := context.Background()
	s.Write([]byte("0123456789"))
	buf := make([]byte, 4)
	if n, _ := s.ReadAt(ctx, buf, 8); string(buf[:n]) != "89" {
		t.Fatalf("read %q", buf[:n])
	}
	s.Ack(6)
	s.Write([]byte("abcdef"))
	if n, _ := s.ReadAt(ctx, buf, 9); string(buf[:n]) != "9abc" {
		t.Fatalf("read across wrap %q", buf[:n])
	}
	if _, err := s.ReadAt(ctx, buf, 5); !errors.Is(err, ErrOffsetGone) {
		t.Fatalf("read before ack: %v", err)
	}
	s.Close()
	if n, sum, ok := s.Final(); !ok || n != 16 || sha([]byte("0123456789abcdef")) != hexSum(sum) {
		t.Fatalf("final %d %x %v", n, sum, ok)
	}
}

func hexSum(b [32]byte) string { return hex.EncodeToString(b[:]) }
