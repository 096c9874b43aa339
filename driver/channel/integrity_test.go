package channel

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/shardwise/shardwise/driver/channel/registry"
)

// tlsFetch fetches channel ch of ts over TLS into dest through a file sink
// it returns, so that a test can see whether the sink hashed.
func tlsFetch(t *testing.T, env *connectEnv, addr, ch, dest string) (*fileSink, Result, error) {
	t.Helper()
	req := request(t, addr, ch)
	req.NoCompression = true
	req.TLS = env.identity(t, registry.ServiceName).ClientConfig(registry.ServiceName)
	req.Retry = RetryPolicy{Attempts: 3, Initial: 10 * time.Millisecond, Max: 20 * time.Millisecond}
	fs, err := openFileSink(dest, nil)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(fs.abandon)
	as := newAsyncSink(fs)
	defer as.close()
	res, err := fetch(context.Background(), &req, as)
	return fs, res, err
}

// TestTLSStoredChannelIntegrity: over TLS a stored channel's frames carry
// the CRC-32Cs of the publish pass, and the consumer, trusting them and
// the AEAD, skips its own SHA-256; bytes damaged in the producer's store
// after publishing still fail, at an aligned frame (the consumer's CRC
// check) and inside the block a resume starts in (the server's check).
func TestTLSStoredChannelIntegrity(t *testing.T) {
	env := startConnect(t)
	ts := env.tlsServer(t, registry.ServiceName)
	data := randomBytes(3*DefaultFrameSize+1000, 61)
	e := ts.publish(t, "c", data)

	t.Run("vouched", func(t *testing.T) {
		dest := filepath.Join(t.TempDir(), "data")
		fs, res, err := tlsFetch(t, env, ts.addr, "c", dest)
		if err != nil {
			t.Fatal(err)
		}
		got, _ := os.ReadFile(dest)
		if !bytes.Equal(got, data) || res.SHA256 != e.SHA256 {
			t.Fatalf("got %d bytes, SHA-256 %s; want %d, %s", len(got), res.SHA256, len(data), e.SHA256)
		}
		if !fs.deferred {
			t.Fatal("the consumer hashed a vouched TLS transfer")
		}
	})

	t.Run("part file of an earlier process, resumed inside a block", func(t *testing.T) {
		dest := filepath.Join(t.TempDir(), "data")
		off := DefaultFrameSize + crcBlock + 1000
		if err := os.WriteFile(dest+".part", data[:off], 0o644); err != nil {
			t.Fatal(err)
		}
		fs, _, err := tlsFetch(t, env, ts.addr, "c", dest)
		if err != nil {
			t.Fatal(err)
		}
		if got, _ := os.ReadFile(dest); !bytes.Equal(got, data) {
			t.Fatal("data differs")
		}
		if fs.deferred {
			t.Fatal("a part file of an earlier process was not hashed")
		}
	})

	// Damage the stored bytes: one byte in the second frame, one in the
	// first frame's second block.
	_, path, _ := ts.store.Get(testRun, "c")
	f, err := os.OpenFile(path, os.O_WRONLY, 0)
	if err != nil {
		t.Fatal(err)
	}
	for _, at := range []int{DefaultFrameSize + 10, crcBlock + 5} {
		if _, err := f.WriteAt([]byte{data[at] ^ 1}, int64(at)); err != nil {
			t.Fatal(err)
		}
	}
	f.Close()

	t.Run("damaged store, frame CRC", func(t *testing.T) {
		dest := filepath.Join(t.TempDir(), "data")
		_, _, err := tlsFetch(t, env, ts.addr, "c", dest)
		if !errors.Is(err, ErrChecksum) || !errors.Is(err, ErrUpstreamGone) {
			t.Fatalf("err = %v, want ErrUpstreamGone wrapping ErrChecksum", err)
		}
		if _, err := os.Stat(dest); !os.IsNotExist(err) {
			t.Fatalf("unverified data delivered: %v", err)
		}
	})

	t.Run("damaged store, resume inside the damaged block", func(t *testing.T) {
		dest := filepath.Join(t.TempDir(), "data")
		if err := os.WriteFile(dest+".part", data[:crcBlock+100], 0o644); err != nil {
			t.Fatal(err)
		}
		_, _, err := tlsFetch(t, env, ts.addr, "c", dest)
		if !errors.Is(err, ErrUpstreamGone) || !strings.Contains(err.Error(), "differ from those published") {
			t.Fatalf("err = %v, want ErrUpstreamGone: stored bytes differ from those published", err)
		}
		if _, err := os.Stat(dest); !os.IsNotExist(err) {
			t.Fatalf("unverified data delivered: %v", err)
		}
	})
}

// TestDeferredHashCatchesUp: a fetch whose first transfer was vouched
// (no hashing) and whose next one is not hashes the part file it holds,
// then goes on hashing: the sum is that of every byte.
func TestDeferredHashCatchesUp(t *testing.T) {
	data := randomBytes(5<<20+17, 62)
	dest := filepath.Join(t.TempDir(), "data")
	fs, err := openFileSink(dest, nil)
	if err != nil {
		t.Fatal(err)
	}
	defer fs.abandon()
	if on, _ := fs.deferHash(true); !on {
		t.Fatal("an empty part file was not deferred")
	}
	if err := fs.write(data[:3<<20]); err != nil {
		t.Fatal(err)
	}
	if on, err := fs.deferHash(false); on || err != nil {
		t.Fatalf("deferHash(false) = %v, %v", on, err)
	}
	if err := fs.write(data[3<<20:]); err != nil {
		t.Fatal(err)
	}
	// Once a transfer was not vouched, the sink keeps hashing.
	if on, _ := fs.deferHash(true); on {
		t.Fatal("deferred again after an unvouched transfer")
	}
	want := sha256.Sum256(data)
	if got := fs.sum(); got != want {
		t.Fatalf("sum %s, want %s", hex.EncodeToString(got[:]), hex.EncodeToString(want[:]))
	}
}
