package channel

import (
	"context"
	"io"
	"net"
	"os"
	"path/filepath"
	"syscall"
	"testing"
	"time"
)

// benchBytes is the size of one benchmark transfer.
const benchBytes = 128 << 20

// cpuTime returns the process's user+system CPU time.
func cpuTime() time.Duration {
	var ru syscall.Rusage
	syscall.Getrusage(syscall.RUSAGE_SELF, &ru)
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

// reportCPU reports CPU seconds per GiB moved (both ends, one process).
func reportCPU(b *testing.B, start time.Duration, bytes int64) {
	gib := float64(bytes) * float64(b.N) / (1 << 30)
	b.ReportMetric((cpuTime()-start).Seconds()/gib, "cpu-s/GiB")
}

type benchCase struct {
	name  string
	level int
	data  func() []byte
}

var benchCases = []benchCase{
	{"raw/random", 0, func() []byte { return randomBytes(benchBytes, 31) }},
	{"zstd1/text", 1, func() []byte { return textBytes(benchBytes, 32) }},
	{"zstd3/text", 3, func() []byte { return textBytes(benchBytes, 32) }},
	{"zstd1/random", 1, func() []byte { return randomBytes(benchBytes, 31) }},
}

// BenchmarkChannelThroughput fetches a stored channel over loopback into
// a file (fsynced, verified, renamed) and, as "discard", into io.Discard.
// Compare with BenchmarkPlainTCPCopy, which moves the same bytes.
func BenchmarkChannelThroughput(b *testing.B) {
	for _, bc := range benchCases {
		for _, sinkName := range []string{"file", "discard"} {
			b.Run(bc.name+"/"+sinkName, func(b *testing.B) {
				ts := startServer(b, ServerConfig{CompressionLevel: bc.level})
				ts.publish(b, "c", bc.data())
				req := request(b, ts.addr, "c")
				req.NoCompression = bc.level == 0
				dest := filepath.Join(b.TempDir(), "data")
				b.SetBytes(benchBytes)
				b.ResetTimer()
				start := cpuTime()
				for range b.N {
					var err error
					if sinkName == "file" {
						_, err = FetchFile(context.Background(), req, dest, nil)
						removeUntimed(b, dest)
					} else {
						_, err = FetchStream(context.Background(), req, io.Discard, nil, nil)
					}
					if err != nil {
						b.Fatal(err)
					}
				}
				b.StopTimer()
				reportCPU(b, start, benchBytes)
			})
		}
	}
}

// BenchmarkPlainTCPCopy sends the same stored file over a plain loopback
// TCP connection: sender io.Copy from the file, receiver io.Copy into a
// file fsynced at the end ("file") or into io.Discard ("discard"). No
// framing, checksums or compression; both ends are zero-copy (sendfile and
// splice).
func BenchmarkPlainTCPCopy(b *testing.B) {
	for _, sinkName := range []string{"file", "discard"} {
		b.Run("random/"+sinkName, func(b *testing.B) {
			src := filepath.Join(b.TempDir(), "src")
			if err := os.WriteFile(src, randomBytes(benchBytes, 31), 0o644); err != nil {
				b.Fatal(err)
			}
			ln, err := net.Listen("tcp", "127.0.0.1:0")
			if err != nil {
				b.Fatal(err)
			}
			defer ln.Close()
			go plainSender(ln, src)
			dest := filepath.Join(b.TempDir(), "data")
			b.SetBytes(benchBytes)
			b.ResetTimer()
			start := cpuTime()
			for range b.N {
				if err := plainReceive(ln.Addr().String(), dest, sinkName == "file"); err != nil {
					b.Fatal(err)
				}
				removeUntimed(b, dest)
			}
			b.StopTimer()
			reportCPU(b, start, benchBytes)
		})
	}
}

// removeUntimed deletes a received file outside the timed region (the
// deletion of a 128 MiB file is not part of a transfer).
func removeUntimed(b *testing.B, path string) {
	b.StopTimer()
	os.Remove(path)
	b.StartTimer()
}

func plainSender(ln net.Listener, src string) {
	for {
		c, err := ln.Accept()
		if err != nil {
			return
		}
		f, err := os.Open(src)
		if err == nil {
			io.Copy(c, f)
			f.Close()
		}
		c.Close()
	}
}

func plainReceive(addr, dest string, toFile bool) error {
	c, err := net.Dial("tcp", addr)
	if err != nil {
		return err
	}
	defer c.Close()
	if !toFile {
		_, err = io.Copy(io.Discard, c)
		return err
	}
	f, err := os.Create(dest)
	if err != nil {
		return err
	}
	defer f.Close()
	if _, err := io.Copy(f, c); err != nil {
		return err
	}
	return f.Sync()
}

// BenchmarkCompression compresses and decompresses 1 MiB frames as the
// channel does, reporting the ratio (raw/wire bytes) and CPU seconds per
// GiB of raw data for each direction.
func BenchmarkCompression(b *testing.B) {
	for _, data := range []struct {
		name string
		b    []byte
	}{{"text", textBytes(64<<20, 41)}, {"random", randomBytes(64<<20, 42)}} {
		for _, level := range []int{1, 3, 9} {
			b.Run(data.name+"/zstd"+string(rune('0'+level)), func(b *testing.B) {
				benchCompress(b, data.b, level)
			})
		}
	}
}

func benchCompress(b *testing.B, data []byte, level int) {
	enc, err := newFrameEncoder(level)
	if err != nil {
		b.Fatal(err)
	}
	defer enc.close()
	dec, err := newFrameDecoder()
	if err != nil {
		b.Fatal(err)
	}
	defer dec.close()
	var wire int64
	var encCPU, decCPU time.Duration
	raw := make([]byte, 0, DefaultFrameSize)
	b.SetBytes(int64(len(data)))
	for range b.N {
		wire = 0
		for off := 0; off < len(data); off += DefaultFrameSize {
			frame := data[off:min(off+DefaultFrameSize, len(data))]
			t0 := cpuTime()
			payload, z := enc.encode(frame)
			t1 := cpuTime()
			encCPU += t1 - t0
			wire += int64(len(payload))
			if z {
				if raw, err = dec.decode(payload, raw, len(frame)); err != nil {
					b.Fatal(err)
				}
				decCPU += cpuTime() - t1
			}
		}
	}
	gib := float64(len(data)) * float64(b.N) / (1 << 30)
	b.ReportMetric(float64(len(data))/float64(wire), "ratio")
	b.ReportMetric(encCPU.Seconds()/gib, "enc-cpu-s/GiB")
	b.ReportMetric(decCPU.Seconds()/gib, "dec-cpu-s/GiB")
}
