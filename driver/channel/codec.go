package channel

import (
	"fmt"
	"hash/crc32"

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
