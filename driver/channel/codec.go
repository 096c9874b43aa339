package channel

import (
	"encoding/binary"
	"fmt"
	"hash/crc32"
	"io"
	"os"

	"github.com/klauspost/compress/zstd"
)

// crcTable is the Castagnoli polynomial (CRC-32C), hardware-accelerated on
// amd64 and arm64.
var crcTable = crc32.MakeTable(crc32.Castagnoli)

// encoderLevel maps a zstd level (1 to 22, as the zstd tool counts) to the
// encoder's speed class; levels below 1 mean no compression (ok false).
func encoderLevel(level int) (zstd.EncoderLevel, bool) {
	if level < 1 {
		return 0, false
	}
	return zstd.EncoderLevelFromZstd(level), true
}

// frameEncoder compresses frame payloads with one reusable zstd encoder.
// Each frame is an independent zstd frame, so a resumed transfer can start
// at any frame.
type frameEncoder struct {
	enc *zstd.Encoder
	buf []byte
}

func newFrameEncoder(level int) (*frameEncoder, error) {
	l, ok := encoderLevel(level)
	if !ok {
		return &frameEncoder{}, nil
	}
	enc, err := zstd.NewWriter(nil, zstd.WithEncoderLevel(l), zstd.WithEncoderConcurrency(1),
		zstd.WithEncoderCRC(false), zstd.WithZeroFrames(true))
	if err != nil {
		return nil, fmt.Errorf("zstd encoder: %w", err)
	}
	return &frameEncoder{enc: enc}, nil
}

// encode returns the payload to send for raw and whether it is compressed:
// the zstd frame when compression is on and makes it smaller, else raw
// itself (incompressible data goes out as is).
func (e *frameEncoder) encode(raw []byte) ([]byte, bool) {
	if e.enc == nil {
		return raw, false
	}
	e.buf = e.enc.EncodeAll(raw, e.buf[:0])
	if len(e.buf) >= len(raw) {
		return raw, false
	}
	return e.buf, true
}

// compresses reports whether the encoder tries to compress frames.
func (e *frameEncoder) compresses() bool { return e.enc != nil }

func (e *frameEncoder) close() {
	if e.enc != nil {
		e.enc.Close()
	}
}

// frameDecoder decompresses frame payloads with one reusable decoder.
type frameDecoder struct {
	dec *zstd.Decoder
}

func newFrameDecoder() (*frameDecoder, error) {
	dec, err := zstd.NewReader(nil, zstd.WithDecoderConcurrency(1), zstd.WithDecoderMaxMemory(2*MaxFrameSize))
	if err != nil {
		return nil, fmt.Errorf("zstd decoder: %w", err)
	}
	return &frameDecoder{dec: dec}, nil
}

// decode decompresses payload into dst[:0] and checks that it has exactly
// rawLen bytes.
func (d *frameDecoder) decode(payload, dst []byte, rawLen int) ([]byte, error) {
	out, err := d.dec.DecodeAll(payload, dst[:0])
	if err != nil {
		return nil, fmt.Errorf("zstd frame: %w", err)
	}
	if len(out) != rawLen {
		return nil, fmt.Errorf("zstd frame: %d bytes, header says %d: %w", len(out), rawLen, ErrProtocol)
	}
	return out, nil
}

func (d *frameDecoder) close() { d.dec.Close() }

// crc32Update adds p to a CRC-32C.
func crc32Update(crc uint32, p []byte) uint32 { return crc32.Update(crc, crcTable, p) }

// Stored block CRCs. Publishing a file channel also writes, next to its
// data, the CRC-32C of every crcBlock bytes ("crc32c": crcFileMagic,
// crcBlock u32, 4 zero bytes, then one u32 per block, big-endian). A data
// frame that starts on a block boundary and ends on one (or at the end)
// then gets its CRC by combining stored ones, and the server can send its
// bytes with sendfile(2) without reading them. The CRC still covers the
// bytes as published: a stored file changed or damaged since fails the
// client's check of that frame.
const (
	crcBlock     = 64 << 10
	crcFileMagic = "SWCRC32C"
	crcHeaderLen = 16
	crcFileName  = "crc32c"
)

// crcBlockWriter computes the CRC-32C of every crcBlock bytes written
// and writes them to w in the crc32c file format.
type crcBlockWriter struct {
	w   io.Writer
	crc uint32
	n   int // bytes in the current block
	out [4]byte
	err error
}

func newCRCBlockWriter(w io.Writer) *crcBlockWriter {
	c := &crcBlockWriter{w: w}
	var h [crcHeaderLen]byte
	copy(h[:], crcFileMagic)
	binary.BigEndian.PutUint32(h[8:], crcBlock)
	_, c.err = w.Write(h[:])
	return c
}

func (c *crcBlockWriter) Write(p []byte) (int, error) {
	total := len(p)
	for len(p) > 0 && c.err == nil {
		k := min(len(p), crcBlock-c.n)
		c.crc = crc32Update(c.crc, p[:k])
		c.n += k
		p = p[k:]
		if c.n == crcBlock {
			c.emit()
		}
	}
	return total, c.err
}

func (c *crcBlockWriter) emit() {
	binary.BigEndian.PutUint32(c.out[:], c.crc)
	_, c.err = c.w.Write(c.out[:])
	c.crc, c.n = 0, 0
}

// finish writes the CRC of the last, partial block.
func (c *crcBlockWriter) finish() error {
	if c.n > 0 && c.err == nil {
		c.emit()
	}
	return c.err
}

// blockCRCs reads the stored block CRCs of one channel's data.
type blockCRCs struct {
	f    *os.File
	size int64 // bytes of data
	buf  []byte
}

// openBlockCRCs opens the crc32c file at path for data of size bytes; it
// returns nil when there is none or it does not match (the frames' CRCs
// are then computed as they are sent).
func openBlockCRCs(path string, size int64) *blockCRCs {
	f, err := os.Open(path)
	if err != nil {
		return nil
	}
	var h [crcHeaderLen]byte
	fi, err := f.Stat()
	if err != nil || fi.Size() != crcHeaderLen+4*((size+crcBlock-1)/crcBlock) {
		f.Close()
		return nil
	}
	if _, err := io.ReadFull(f, h[:]); err != nil || string(h[:8]) != crcFileMagic ||
		binary.BigEndian.Uint32(h[8:]) != crcBlock {
		f.Close()
		return nil
	}
	return &blockCRCs{f: f, size: size}
}

// frame returns the CRC-32C of the n bytes at off, which start on a block
// boundary and end on one or at the end of the data.
func (b *blockCRCs) frame(off, n int64) (uint32, error) {
	if off%crcBlock != 0 || n <= 0 || off+n > b.size || ((off+n)%crcBlock != 0 && off+n != b.size) {
		return 0, fmt.Errorf("frame [%d, %d) not on CRC blocks: %w", off, off+n, ErrProtocol)
	}
	first, count := off/crcBlock, (n+crcBlock-1)/crcBlock
	b.buf = grow(b.buf, int(4*count))
	if _, err := b.f.ReadAt(b.buf, crcHeaderLen+4*first); err != nil {
		return 0, fmt.Errorf("read stored CRCs: %w", err)
	}
	var crc uint32
	for i := range count {
		blen := min(crcBlock, n-i*crcBlock)
		op := crcBlockOp
		if blen != crcBlock {
			op = crc32ShiftOp(blen)
		}
		crc = crc32Combine(crc, binary.BigEndian.Uint32(b.buf[4*i:]), op)
	}
	return crc, nil
}

func (b *blockCRCs) close() { b.f.Close() }

// CRC-32C combination (as zlib's crc32_combine): the CRC of A‖B from the
// CRCs of A and B and the length of B, with polynomial arithmetic modulo
// the Castagnoli polynomial in the CRC's reflected bit order.
const castagnoliReflected = 0x82f63b78

// crcBlockOp shifts a CRC over one whole block.
var crcBlockOp = crc32ShiftOp(crcBlock)

// crc32Combine returns the CRC of A‖B from crcA, crcB and op =
// crc32ShiftOp(len(B)).
func crc32Combine(crcA, crcB, op uint32) uint32 { return mulModP(op, crcA) ^ crcB }

// crc32ShiftOp returns x^(8n) modulo the polynomial: the operator that
// moves a CRC past n zero bytes.
func crc32ShiftOp(n int64) uint32 {
	p := uint32(1) << 31  // x^0
	sq := uint32(1) << 30 // x^1, squared below to x^(2^k)
	for k := 0; n > 0 || k < 3; k++ {
		// Bit k-3 of n stands for x^(8·2^(k-3)) = x^(2^k).
		if k >= 3 {
			if n&1 != 0 {
				p = mulModP(sq, p)
			}
			n >>= 1
		}
		sq = mulModP(sq, sq)
	}
	return p
}

// mulModP returns a(x)·b(x) modulo the polynomial (reflected).
func mulModP(a, b uint32) uint32 {
	var p uint32
	for m := uint32(1) << 31; m != 0; m >>= 1 {
		if a&m != 0 {
			p ^= b
		}
		if b&1 != 0 {
			b = b>>1 ^ castagnoliReflected
		} else {
			b >>= 1
		}
	}
	return p
}
