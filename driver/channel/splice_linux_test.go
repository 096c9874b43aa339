package channel

import (
	"bytes"
	"context"
	"os"
	"path/filepath"
	"testing"
)

// TestPlaintextFileFetchSplices: a raw plaintext fetch into a file takes
// its frames from the socket by splice(2) (all but what bufio read with a
// header), bytes and SHA-256 equal; cut three times mid-frame, the frames
// cut short are dropped from the file and fetched again.
func TestPlaintextFileFetchSplices(t *testing.T) {
	ts := startServer(t, ServerConfig{})
	data := randomBytes(3*DefaultFrameSize+DefaultFrameSize/2, 81)
	e := ts.publish(t, "c", data)
	for _, cuts := range [][]int64{nil, {DefaultFrameSize + 5000, DefaultFrameSize / 2, 3 * DefaultFrameSize / 2}} {
		proxy := startProxy(t, ts.addr, cuts...)
		req := request(t, proxy.addr(), "c")
		req.NoCompression = true
		dest := filepath.Join(t.TempDir(), "data")
		fs, err := openFileSink(dest, nil)
		if err != nil {
			t.Fatal(err)
		}
		as := newAsyncSink(fs)
		res, err := fetch(context.Background(), &req, as)
		as.close()
		if err != nil {
			t.Fatal(err)
		}
		got, _ := os.ReadFile(dest)
		if !bytes.Equal(got, data) || res.SHA256 != e.SHA256 || res.Attempts != len(cuts)+1 {
			t.Fatalf("cuts %v: %d bytes, sha256 %s, %d attempts; want %d, %s, %d", cuts, len(got), res.SHA256, res.Attempts, len(data), e.SHA256, len(cuts)+1)
		}
		if as.spliced < 4 {
			t.Fatalf("cuts %v: %d frames spliced, want at least the 4 of the data", cuts, as.spliced)
		}
	}
}
