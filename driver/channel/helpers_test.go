package channel

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"io"
	"math/rand/v2"
	"net"
	"os"
	"path/filepath"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	hclog "github.com/hashicorp/go-hclog"

	"github.com/shardwise/shardwise/internal/testutil"
)

const testRun = "run-1"

// testKey is the run key every honest peer of testRun holds.
func testKey(t testing.TB) []byte {
	k, err := RunKey("cluster-secret", "", testRun)
	if err != nil {
		t.Fatal(err)
	}
	return k
}

// testServer is a Server with a Store on a loopback port, and its log.
type testServer struct {
	*Server
	store *Store
	addr  string
	log   *testutil.SyncBuffer
}

func startServer(t testing.TB, cfg ServerConfig) *testServer {
	t.Helper()
	store, err := OpenStore(filepath.Join(t.TempDir(), "store"))
	if err != nil {
		t.Fatal(err)
	}
	logBuf := &testutil.SyncBuffer{}
	cfg.Logger = hclog.New(&hclog.LoggerOptions{Output: logBuf, Level: hclog.Debug})
	srv := NewServer(store, cfg)
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	go srv.Serve(ln)
	t.Cleanup(func() { srv.Close() })
	return &testServer{Server: srv, store: store, addr: ln.Addr().String(), log: logBuf}
}

// publish stores data as channel ch of testRun and returns its entry.
func (ts *testServer) publish(t testing.TB, ch string, data []byte) Entry {
	t.Helper()
	src := filepath.Join(t.TempDir(), "src")
	if err := os.WriteFile(src, data, 0o644); err != nil {
		t.Fatal(err)
	}
	e, err := ts.store.Publish(Entry{Run: testRun, Channel: ch, Key: testKey(t)}, src)
	if err != nil {
		t.Fatal(err)
	}
	return e
}

// request returns a fetch request for channel ch at addr with fast retries.
func request(t testing.TB, addr, ch string) Request {
	return Request{
		Run: testRun, Channel: ch, Key: testKey(t), ExpectSize: -1,
		Resolve: func(context.Context) (string, error) { return addr, nil },
		Retry:   RetryPolicy{Attempts: 4, Initial: time.Millisecond, Max: 4 * time.Millisecond},
	}
}

func randomBytes(n int, seed uint64) []byte {
	r := rand.New(rand.NewPCG(seed, seed^0x9e3779b97f4a7c15))
	b := make([]byte, n)
	for i := 0; i+8 <= n; i += 8 {
		v := r.Uint64()
		for j := range 8 {
			b[i+j] = byte(v >> (8 * j))
		}
	}
	for i := n &^ 7; i < n; i++ {
		b[i] = byte(r.Uint32())
	}
	return b
}

// textBytes returns n bytes of log-like text: compressible like real
// pipeline data (CSV and log lines with varying numbers).
func textBytes(n int, seed uint64) []byte {
	r := rand.New(rand.NewPCG(seed, seed+1))
	words := []string{"shard", "ingest", "partition", "status=ok", "status=retry", "bytes", "latency_ms",
		"user", "region=eu-west", "region=us-east", "GET", "POST", "/api/v1/items", "cache=hit", "cache=miss"}
	var b bytes.Buffer
	for b.Len() < n {
		b.WriteString("2025-06-0")
		b.WriteByte(byte('1' + r.IntN(9)))
		b.WriteString("T12:")
		for range 6 + r.IntN(6) {
			b.WriteString(words[r.IntN(len(words))])
			b.WriteByte(',')
			b.WriteString(hex.EncodeToString([]byte{byte(r.IntN(256)), byte(r.IntN(16))}))
			b.WriteByte(' ')
		}
		b.WriteByte('\n')
	}
	return b.Bytes()[:n]
}

func sha(b []byte) string {
	s := sha256.Sum256(b)
	return hex.EncodeToString(s[:])
}

// cutProxy forwards loopback connections to target. Connection number i
// (from 0) is cut after cuts[i] bytes from the server; later connections
// pass everything. corrupt, when set, flips one byte of the server's
// stream at that position on the first connection. It counts the bytes it
// passed from the server and the connections it accepted.
type cutProxy struct {
	ln       net.Listener
	target   string
	cuts     []int64
	corrupt  int64
	conns    atomic.Int64
	fromSrv  atomic.Int64
	wg       sync.WaitGroup
	closeAll chan struct{}
}

func startProxy(t testing.TB, target string, cuts ...int64) *cutProxy {
	t.Helper()
	return startCorruptingProxy(t, target, -1, cuts...)
}

// startCorruptingProxy is startProxy that flips the server's byte number
// corrupt (from 0; -1 for none) on the first connection.
func startCorruptingProxy(t testing.TB, target string, corrupt int64, cuts ...int64) *cutProxy {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	p := &cutProxy{ln: ln, target: target, cuts: cuts, corrupt: corrupt, closeAll: make(chan struct{})}
	go p.serve()
	t.Cleanup(func() { close(p.closeAll); ln.Close(); p.wg.Wait() })
	return p
}

func (p *cutProxy) addr() string { return p.ln.Addr().String() }

func (p *cutProxy) serve() {
	for {
		c, err := p.ln.Accept()
		if err != nil {
			return
		}
		i := p.conns.Add(1) - 1
		limit, corrupt := int64(-1), int64(-1)
		if int(i) < len(p.cuts) {
			limit = p.cuts[i]
		}
		if i == 0 {
			corrupt = p.corrupt
		}
		p.wg.Add(1)
		go p.pipe(c, limit, corrupt)
	}
}

func (p *cutProxy) pipe(c net.Conn, limit, corrupt int64) {
	defer p.wg.Done()
	defer c.Close()
	s, err := net.Dial("tcp", p.target)
	if err != nil {
		return
	}
	defer s.Close()
	go func() {
		io.Copy(s, c)
		s.Close()
	}()
	go func() {
		<-p.closeAll
		c.Close()
		s.Close()
	}()
	var passed int64
	buf := make([]byte, 32<<10)
	for limit < 0 || passed < limit {
		want := int64(len(buf))
		if limit >= 0 {
			want = min(want, limit-passed)
		}
		n, err := s.Read(buf[:want])
		if corrupt >= passed && corrupt < passed+int64(n) {
			buf[corrupt-passed] ^= 0xff
		}
		if n > 0 {
			if _, werr := c.Write(buf[:n]); werr != nil {
				return
			}
			passed += int64(n)
			p.fromSrv.Add(int64(n))
		}
		if err != nil {
			return
		}
	}
}
