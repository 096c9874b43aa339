package channel

import (
	"context"
	"crypto/aes"
	"crypto/cipher"
	"crypto/sha256"
	"fmt"
	"io"
	"net"
	"os"
	"path/filepath"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/shardwise/shardwise/driver/channel/registry"
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
// TCP connection, no framing, checksums or compression, into a file
// fsynced at the end (as the channel's "file") or into nothing
// ("discard"). Two ways of copying:
//
//   - "file", "discard": io.Copy at both ends, which the kernel makes
//     zero-copy: sendfile(2) from the file, splice(2) from the socket into
//     the file. The channel cannot do the receiving half: it has to see
//     the bytes (CRC-32C, SHA-256), so they cross into user space once.
//   - "file-rw", "discard-rw": read(2)/write(2) through a 1 MiB buffer at
//     both ends, the channel's frame size: the same copies as a channel
//     that reads its file instead of sending it.
func BenchmarkPlainTCPCopy(b *testing.B) {
	for _, mode := range []struct {
		name           string
		toFile, buffer bool
	}{{"file", true, false}, {"discard", false, false}, {"file-rw", true, true}, {"discard-rw", false, true}} {
		b.Run("random/"+mode.name, func(b *testing.B) {
			src := filepath.Join(b.TempDir(), "src")
			if err := os.WriteFile(src, randomBytes(benchBytes, 31), 0o644); err != nil {
				b.Fatal(err)
			}
			ln, err := net.Listen("tcp", "127.0.0.1:0")
			if err != nil {
				b.Fatal(err)
			}
			defer ln.Close()
			go plainSender(ln, src, mode.buffer)
			dest := filepath.Join(b.TempDir(), "data")
			b.SetBytes(benchBytes)
			b.ResetTimer()
			start := cpuTime()
			for range b.N {
				if err := plainReceive(ln.Addr().String(), dest, mode.toFile, mode.buffer); err != nil {
					b.Fatal(err)
				}
				removeUntimed(b, dest)
			}
			b.StopTimer()
			reportCPU(b, start, benchBytes)
		})
	}
}

// BenchmarkThroughputPaired moves 128 MiB into a file (fsynced at the
// end) several ways in turn within each iteration, in rotating order, so
// that every way sees the same load drift of a shared machine:
//
//   - channel-raw: the channel, raw frames, plaintext (insecure_channels);
//   - channel-tls: the channel, raw frames, mutual TLS 1.3 with Consul
//     Connect leaf certificates (a real Consul dev agent; skipped without
//     one unless CI is set);
//   - channel-tls-zstd: the channel over TLS with zstd level 1, on text
//     (random bytes would go out raw);
//   - plain: the plain zero-copy copy, and plain-rw: the plain 1 MiB
//     read/write copy (see BenchmarkPlainTCPCopy), of the random bytes.
//
// It reports each way's MB/s (bytes over the total time of that way) and
// CPU seconds per GiB (the whole process, both ends, during that way), and
// the channel's ratios to the plain zero-copy copy (ratio-raw, ratio-tls;
// channel MB/s over plain MB/s).
func BenchmarkThroughputPaired(b *testing.B) {
	env := startConnect(b)
	data, text := randomBytes(benchBytes, 31), textBytes(benchBytes, 32)
	plainSrv := startServer(b, ServerConfig{})
	plainSrv.publish(b, "c", data)
	tlsSrv := env.tlsServer(b, registry.ServiceName)
	tlsSrv.publish(b, "c", data)
	zCfg := env.serverConfig(b, registry.ServiceName)
	zCfg.CompressionLevel = 1
	zSrv := startServer(b, zCfg)
	zSrv.publish(b, "c", text)
	clientTLS := env.identity(b, registry.ServiceName).ClientConfig(registry.ServiceName)

	rawReq := request(b, plainSrv.addr, "c")
	rawReq.NoCompression = true
	tlsReq := request(b, tlsSrv.addr, "c")
	tlsReq.NoCompression, tlsReq.TLS = true, clientTLS
	zReq := request(b, zSrv.addr, "c")
	zReq.TLS = clientTLS

	src := filepath.Join(b.TempDir(), "src")
	if err := os.WriteFile(src, data, 0o644); err != nil {
		b.Fatal(err)
	}
	var addrs [2]string
	for i, buffer := range []bool{false, true} {
		ln, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			b.Fatal(err)
		}
		defer ln.Close()
		go plainSender(ln, src, buffer)
		addrs[i] = ln.Addr().String()
	}
	dest := filepath.Join(b.TempDir(), "data")
	fetch := func(req Request) func() error {
		return func() error { _, err := FetchFile(context.Background(), req, dest, nil); return err }
	}
	ways := []struct {
		name string
		run  func() error
	}{
		{"channel-raw", fetch(rawReq)},
		{"channel-tls", fetch(tlsReq)},
		{"channel-tls-zstd", fetch(zReq)},
		{"plain", func() error { return plainReceive(addrs[0], dest, true, false) }},
		{"plain-rw", func() error { return plainReceive(addrs[1], dest, true, true) }},
	}
	took := make([]time.Duration, len(ways))
	cpu := make([]time.Duration, len(ways))
	b.ResetTimer()
	for i := range b.N {
		for j := range ways {
			w := (i + j) % len(ways)
			t0, c0 := time.Now(), cpuTime()
			if err := ways[w].run(); err != nil {
				b.Fatal(ways[w].name, ": ", err)
			}
			took[w] += time.Since(t0)
			cpu[w] += cpuTime() - c0
			removeUntimed(b, dest)
		}
	}
	b.StopTimer()
	gib := float64(benchBytes) * float64(b.N) / (1 << 30)
	mbps := func(d time.Duration) float64 { return float64(benchBytes) * float64(b.N) / d.Seconds() / 1e6 }
	for j, w := range ways {
		b.ReportMetric(mbps(took[j]), w.name+"-MB/s")
		b.ReportMetric(cpu[j].Seconds()/gib, w.name+"-cpu-s/GiB")
	}
	b.ReportMetric(took[3].Seconds()/took[0].Seconds(), "ratio-raw")
	b.ReportMetric(took[3].Seconds()/took[1].Seconds(), "ratio-tls")
	b.ReportMetric(took[4].Seconds()/took[0].Seconds(), "ratio-raw-vs-rw")
}

// removeUntimed deletes a received file outside the timed region (the
// deletion of a 128 MiB file is not part of a transfer).
func removeUntimed(b *testing.B, path string) {
	b.StopTimer()
	os.Remove(path)
	b.StartTimer()
}

// plainBufSize is the buffer of the read/write copies: the channel's frame.
const plainBufSize = DefaultFrameSize

// onlyReader and onlyWriter hide ReadFrom/WriteTo, so that io.CopyBuffer
// really copies through its buffer (no sendfile, splice or 8 KiB pool).
type onlyReader struct{ io.Reader }
type onlyWriter struct{ io.Writer }

func plainCopy(dst io.Writer, src io.Reader, buffer bool) (int64, error) {
	if buffer {
		return io.CopyBuffer(onlyWriter{dst}, onlyReader{src}, make([]byte, plainBufSize))
	}
	return io.Copy(dst, src)
}

func plainSender(ln net.Listener, src string, buffer bool) {
	for {
		c, err := ln.Accept()
		if err != nil {
			return
		}
		f, err := os.Open(src)
		if err == nil {
			plainCopy(c, f, buffer)
			f.Close()
		}
		c.Close()
	}
}

func plainReceive(addr, dest string, toFile, buffer bool) error {
	c, err := net.Dial("tcp", addr)
	if err != nil {
		return err
	}
	defer c.Close()
	if !toFile {
		_, err = plainCopy(io.Discard, c, buffer)
		return err
	}
	f, err := os.Create(dest)
	if err != nil {
		return err
	}
	defer f.Close()
	if _, err := plainCopy(f, c, buffer); err != nil {
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

// BenchmarkFanOut serves one published output to N consumers at once (N
// channels sharing the stored copy, as PublishOutputs stores an output
// read by N downstream shards), over mutual TLS, raw frames of random
// bytes and zstd level 1 frames of text, each consumer fetching into
// io.Discard (SHA-256 verified). It reports the aggregate MB/s (N x bytes
// over the wall time of the slowest), the process's CPU seconds per GiB
// delivered, and the frames compressed over the whole run: with zstd each
// frame is compressed once and shared through the server's frame cache
// (the first iteration fills it, later ones only send), encrypted once
// per consumer (TLS).
func BenchmarkFanOut(b *testing.B) {
	const size = 32 << 20
	env := startConnect(b)
	clientTLS := env.identity(b, registry.ServiceName).ClientConfig(registry.ServiceName)
	for _, bc := range []struct {
		name  string
		level int
		data  []byte
	}{{"tls-raw", 0, randomBytes(size, 51)}, {"tls-zstd1", 1, textBytes(size, 52)}} {
		for _, n := range []int{1, 4, 16} {
			b.Run(fmt.Sprintf("%s/N=%d", bc.name, n), func(b *testing.B) {
				cfg := env.serverConfig(b, registry.ServiceName)
				cfg.CompressionLevel = bc.level
				ts := startServer(b, cfg)
				first := ts.publish(b, "c0", bc.data)
				reqs := make([]Request, n)
				for i := range n {
					ch := fmt.Sprintf("c%d", i)
					if i > 0 {
						if _, err := ts.store.PublishSame(Entry{Run: testRun, Channel: ch, Key: testKey(b)}, first); err != nil {
							b.Fatal(err)
						}
					}
					reqs[i] = request(b, ts.addr, ch)
					reqs[i].NoCompression, reqs[i].TLS = bc.level == 0, clientTLS
				}
				b.SetBytes(int64(size * n))
				b.ResetTimer()
				start := cpuTime()
				for range b.N {
					var wg sync.WaitGroup
					errs := make(chan error, n)
					for i := range n {
						wg.Go(func() {
							if _, err := FetchStream(context.Background(), reqs[i], io.Discard, nil, nil); err != nil {
								errs <- err
							}
						})
					}
					wg.Wait()
					close(errs)
					if err := <-errs; err != nil {
						b.Fatal(err)
					}
				}
				b.StopTimer()
				reportCPU(b, start, int64(size*n))
				computed, _ := ts.frames.stats()
				b.ReportMetric(float64(computed), "frames-compressed")
			})
		}
	}
}

// BenchmarkDigests measures, alone on one goroutine, the per-byte work a
// channel can do on its data: SHA-256 (crypto/sha256 uses the SHA-NI
// instructions where the CPU has them: blockSHANI in a CPU profile),
// CRC-32C (SSE 4.2), and AES-128-GCM sealing of full 16 KiB TLS records
// (what TLS 1.3 costs each end). MB/s of data; compare with a transfer's.
func BenchmarkDigests(b *testing.B) {
	data := randomBytes(DefaultFrameSize, 71)
	b.Run("sha256", func(b *testing.B) {
		h := sha256.New()
		b.SetBytes(int64(len(data)))
		for range b.N {
			h.Write(data)
		}
	})
	b.Run("crc32c", func(b *testing.B) {
		b.SetBytes(int64(len(data)))
		for range b.N {
			crc32Checksum(data)
		}
	})
	b.Run("aes128gcm-16KiB-records", func(b *testing.B) {
		block, err := aes.NewCipher(make([]byte, 16))
		if err != nil {
			b.Fatal(err)
		}
		aead, err := cipher.NewGCM(block)
		if err != nil {
			b.Fatal(err)
		}
		nonce := make([]byte, aead.NonceSize())
		out := make([]byte, 0, 16<<10+aead.Overhead())
		b.SetBytes(int64(len(data)))
		for range b.N {
			for off := 0; off < len(data); off += 16 << 10 {
				out = aead.Seal(out[:0], nonce, data[off:off+16<<10], nil)
			}
		}
	})
}
