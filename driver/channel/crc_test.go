package channel

import (
	"bytes"
	"context"
	"errors"
	"os"
	"path/filepath"
	"testing"
)

func TestCRC32Combine(t *testing.T) {
	data := randomBytes(300<<10+77, 5)
	for _, split := range []int{0, 1, 7, crcBlock, crcBlock + 3, len(data) - 1, len(data)} {
		a, b := data[:split], data[split:]
		got := crc32Combine(crc32Checksum(a), crc32Checksum(b), crc32ShiftOp(int64(len(b))))
		if want := crc32Checksum(data); got != want {
			t.Errorf("split %d: combined %08x, want %08x", split, got, want)
		}
	}
}

// TestStoredBlockCRCs: the crc32c file written at publish time gives the
// CRC of any block-aligned frame, the last partial block included.
func TestStoredBlockCRCs(t *testing.T) {
	for _, size := range []int{0, 1, crcBlock, 5*crcBlock + 1000} {
		ts := startServer(t, ServerConfig{})
		data := randomBytes(size, uint64(size))
		e := ts.publish(t, "c", data)
		_, path, _ := ts.store.Get(testRun, "c")
		b := openBlockCRCs(filepath.Join(filepath.Dir(path), crcFileName), e.Size)
		if b == nil {
			t.Fatalf("size %d: no stored CRCs", size)
		}
		for off := 0; off < size; off += crcBlock {
			for end := off + crcBlock; end < size+crcBlock; end += crcBlock {
				end := min(end, size)
				got, err := b.frame(int64(off), int64(end-off))
				if err != nil {
					t.Fatal(err)
				}
				if want := crc32Checksum(data[off:end]); got != want {
					t.Fatalf("size %d frame [%d, %d): %08x, want %08x", size, off, end, got, want)
				}
			}
		}
		if _, err := b.frame(1, crcBlock); err == nil && size > crcBlock {
			t.Errorf("unaligned frame accepted")
		}
		b.close()
	}
}

// TestSendfileFramesAllOffsets fetches through the sendfile path with
// frame sizes that are and are not multiples of the CRC block, resuming
// from a .part that ends inside a block, and without a crc32c file (an
// entry published by an earlier version): the bytes arrive equal.
func TestSendfileFramesAllOffsets(t *testing.T) {
	data := randomBytes(3*DefaultFrameSize+12345, 9)
	for _, tc := range []struct {
		name      string
		frameSize int
		part      int
		noCRCs    bool
	}{
		{"default", 0, 0, false},
		{"resume inside a block", 0, crcBlock*3 + 5, false},
		{"frame not a block multiple", 100_000, 0, false},
		{"frame smaller than a block", 40_000, 70_000, false},
		{"no stored CRCs", 0, 1000, true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			ts := startServer(t, ServerConfig{FrameSize: tc.frameSize})
			ts.publish(t, "c", data)
			if tc.noCRCs {
				_, path, _ := ts.store.Get(testRun, "c")
				if err := os.Remove(filepath.Join(filepath.Dir(path), crcFileName)); err != nil {
					t.Fatal(err)
				}
			}
			dest := filepath.Join(t.TempDir(), "data")
			if tc.part > 0 {
				if err := os.WriteFile(dest+".part", data[:tc.part], 0o644); err != nil {
					t.Fatal(err)
				}
			}
			req := request(t, ts.addr, "c")
			req.NoCompression = true
			res, err := FetchFile(context.Background(), req, dest, nil)
			if err != nil {
				t.Fatal(err)
			}
			got, _ := os.ReadFile(dest)
			if !bytes.Equal(got, data) || res.Attempts != 1 || res.SHA256 != sha(data) {
				t.Fatalf("equal=%v attempts=%d", bytes.Equal(got, data), res.Attempts)
			}
		})
	}
}

// TestStoredBytesDamagedFailFrameCRC: bytes changed on the producer's disk
// after publishing no longer match the stored block CRCs: the client
// refuses the frame (and, the damage being permanent, gives up), and never
// delivers the file.
func TestStoredBytesDamagedFailFrameCRC(t *testing.T) {
	ts := startServer(t, ServerConfig{})
	data := randomBytes(2*DefaultFrameSize, 10)
	ts.publish(t, "c", data)
	_, path, _ := ts.store.Get(testRun, "c")
	f, err := os.OpenFile(path, os.O_WRONLY, 0)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := f.WriteAt([]byte{data[DefaultFrameSize+10] ^ 1}, DefaultFrameSize+10); err != nil {
		t.Fatal(err)
	}
	f.Close()
	dest := filepath.Join(t.TempDir(), "data")
	req := request(t, ts.addr, "c")
	req.NoCompression = true
	_, err = FetchFile(context.Background(), req, dest, nil)
	if !errors.Is(err, ErrChecksum) || !errors.Is(err, ErrUpstreamGone) {
		t.Fatalf("err = %v, want ErrUpstreamGone wrapping ErrChecksum", err)
	}
	if _, err := os.Stat(dest); !os.IsNotExist(err) {
		t.Fatalf("unverified data delivered: %v", err)
	}
}
