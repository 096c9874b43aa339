package channel

import (
	"crypto/sha256"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
)

// Wire format, version 1. All integers are big-endian.
//
//	server hello  magic "SWCH" | version u8 | 3 zero bytes | server nonce [32]
//	client hello  magic "SWCH" | version u8 | flags u8 | run len u16 | run |
//	              channel len u16 | channel | resume offset u64 |
//	              client nonce [32] | client MAC [32]
//	reply         status u8 | message len u16 | message; when status is OK:
//	              server MAC [32] | size i64 (-1 while a stream is open) |
//	              ack window u32 (bytes) | codec u8 (0 raw, 1 zstd,
//	              2 raw with the CRCs of the publish pass)
//	frame         type u8 | flags u8 | 2 zero bytes | offset u64 |
//	              raw len u32 | wire len u32 | CRC-32C of the raw bytes u32 |
//	              payload [wire len]
//	client msg    type u8 | 7 zero bytes | offset u64
//
// Frame types: data (payload is the bytes at offset, zstd-compressed when
// flag 1 is set), end (offset is the total size, payload is the SHA-256 of
// the whole stream then the end MAC), error (payload is a UTF-8 message).
// Client messages: ack (offset = bytes durably delivered; the server may
// drop stream data before it) and done (offset = total size, verified).
const (
	protocolVersion = 1
	nonceSize       = 32
	macSize         = 32
	maxNameLen      = 512
	maxMessageLen   = 4096
	serverHelloLen  = 4 + 1 + 3 + nonceSize
	frameHeaderLen  = 24
	clientMsgLen    = 16
	// MaxFrameSize is the largest raw frame payload a peer accepts, in bytes.
	MaxFrameSize = 4 << 20
)

var magic = [4]byte{'S', 'W', 'C', 'H'}

// Client hello flags.
const (
	flagAcceptZstd = 1 << 0
	// flagStoredCRCs asks a server to answer codecRawStored when it can:
	// a client over TLS then skips its own SHA-256 of a stored channel
	// (see codecRawStored).
	flagStoredCRCs = 1 << 1
)

// Reply statuses.
const (
	statusOK       = 0
	statusAuth     = 1 // refused: the peer does not hold the run key
	statusNotFound = 2 // no such channel on this server (consumed, removed or never published)
	statusOffset   = 3 // the resume offset is beyond the data or no longer retained
	statusVersion  = 4 // unsupported protocol version
	statusBusy     = 5 // the server is shutting down
)

// Codecs.
const (
	codecRaw  = 0
	codecZstd = 1
	// codecRawStored: raw frames of a stored channel, each frame's CRC-32C
	// taken from the block CRCs computed at publish, in the same pass as
	// the SHA-256 the end frame carries (a frame that resumes inside a
	// block is sent after the server checked that whole block against its
	// stored CRC). Only sent to a client that set flagStoredCRCs.
	codecRawStored = 2
)

// Frame types and flags.
const (
	frameData  = 1
	frameEnd   = 2
	frameError = 3

	frameFlagZstd      = 1 << 0
	frameFlagPermanent = 1 << 1 // on error frames: retrying cannot help
)

// Client message types.
const (
	msgAck  = 0x10
	msgDone = 0x11
)

// ErrProtocol marks a malformed or unexpected message from the peer.
var ErrProtocol = errors.New("channel protocol error")

type serverHello struct {
	Nonce [nonceSize]byte
}

func (h *serverHello) encode() []byte {
	b := make([]byte, serverHelloLen)
	copy(b, magic[:])
	b[4] = protocolVersion
	copy(b[8:], h.Nonce[:])
	return b
}

func readServerHello(r io.Reader) (*serverHello, error) {
	var b [serverHelloLen]byte
	if _, err := io.ReadFull(r, b[:]); err != nil {
		return nil, fmt.Errorf("read server hello: %w", err)
	}
	if [4]byte(b[:4]) != magic {
		return nil, fmt.Errorf("server hello: bad magic %q: %w", b[:4], ErrProtocol)
	}
	if b[4] != protocolVersion {
		return nil, fmt.Errorf("server hello: version %d, want %d: %w", b[4], protocolVersion, ErrProtocol)
	}
	h := &serverHello{}
	copy(h.Nonce[:], b[8:])
	return h, nil
}

type clientHello struct {
	Version uint8
	Flags   uint8
	Run     string
	Channel string
	Offset  int64
	Nonce   [nonceSize]byte
	MAC     [macSize]byte
}

func (h *clientHello) encode() []byte {
	b := make([]byte, 0, 4+2+2+len(h.Run)+2+len(h.Channel)+8+nonceSize+macSize)
	b = append(b, magic[:]...)
	b = append(b, h.Version, h.Flags)
	b = appendString16(b, h.Run)
	b = appendString16(b, h.Channel)
	b = binary.BigEndian.AppendUint64(b, uint64(h.Offset))
	b = append(b, h.Nonce[:]...)
	return append(b, h.MAC[:]...)
}

func readClientHello(r io.Reader) (*clientHello, error) {
	var head [6]byte
	if _, err := io.ReadFull(r, head[:]); err != nil {
		return nil, fmt.Errorf("read client hello: %w", err)
	}
	if [4]byte(head[:4]) != magic {
		return nil, fmt.Errorf("client hello: bad magic %q: %w", head[:4], ErrProtocol)
	}
	h := &clientHello{Version: head[4], Flags: head[5]}
	var err error
	if h.Run, err = readString16(r, maxNameLen); err != nil {
		return nil, fmt.Errorf("client hello run: %w", err)
	}
	if h.Channel, err = readString16(r, maxNameLen); err != nil {
		return nil, fmt.Errorf("client hello channel: %w", err)
	}
	var tail [8 + nonceSize + macSize]byte
	if _, err := io.ReadFull(r, tail[:]); err != nil {
		return nil, fmt.Errorf("read client hello: %w", err)
	}
	h.Offset = int64(binary.BigEndian.Uint64(tail[:8]))
	copy(h.Nonce[:], tail[8:])
	copy(h.MAC[:], tail[8+nonceSize:])
	if h.Offset < 0 {
		return nil, fmt.Errorf("client hello: negative offset: %w", ErrProtocol)
	}
	return h, nil
}

type reply struct {
	Status  uint8
	Message string
	MAC     [macSize]byte
	Size    int64 // total size in bytes, -1 while a stream is open
	Window  uint32
	Codec   uint8
}

func (rp *reply) encode() []byte {
	b := []byte{rp.Status}
	b = appendString16(b, truncate(rp.Message, maxMessageLen))
	if rp.Status != statusOK {
		return b
	}
	b = append(b, rp.MAC[:]...)
	b = binary.BigEndian.AppendUint64(b, uint64(rp.Size))
	b = binary.BigEndian.AppendUint32(b, rp.Window)
	return append(b, rp.Codec)
}

func readReply(r io.Reader) (*reply, error) {
	var st [1]byte
	if _, err := io.ReadFull(r, st[:]); err != nil {
		return nil, fmt.Errorf("read reply: %w", err)
	}
	rp := &reply{Status: st[0]}
	var err error
	if rp.Message, err = readString16(r, maxMessageLen); err != nil {
		return nil, fmt.Errorf("reply message: %w", err)
	}
	if rp.Status != statusOK {
		return rp, nil
	}
	var tail [macSize + 8 + 4 + 1]byte
	if _, err := io.ReadFull(r, tail[:]); err != nil {
		return nil, fmt.Errorf("read reply: %w", err)
	}
	copy(rp.MAC[:], tail[:macSize])
	rp.Size = int64(binary.BigEndian.Uint64(tail[macSize:]))
	rp.Window = binary.BigEndian.Uint32(tail[macSize+8:])
	rp.Codec = tail[macSize+12]
	return rp, nil
}

type frameHeader struct {
	Type    uint8
	Flags   uint8
	Offset  int64
	RawLen  uint32
	WireLen uint32
	CRC     uint32
}

func (f *frameHeader) put(b *[frameHeaderLen]byte) {
	*b = [frameHeaderLen]byte{}
	b[0], b[1] = f.Type, f.Flags
	binary.BigEndian.PutUint64(b[4:], uint64(f.Offset))
	binary.BigEndian.PutUint32(b[12:], f.RawLen)
	binary.BigEndian.PutUint32(b[16:], f.WireLen)
	binary.BigEndian.PutUint32(b[20:], f.CRC)
}

// readFrameHeader reads and checks one frame header. Data frames may not
// exceed MaxFrameSize raw bytes, nor expand on the wire beyond the zstd
// worst case; other frames are small.
func readFrameHeader(r io.Reader) (frameHeader, error) {
	var b [frameHeaderLen]byte
	if _, err := io.ReadFull(r, b[:]); err != nil {
		return frameHeader{}, fmt.Errorf("read frame header: %w", err)
	}
	f := frameHeader{
		Type: b[0], Flags: b[1],
		Offset:  int64(binary.BigEndian.Uint64(b[4:])),
		RawLen:  binary.BigEndian.Uint32(b[12:]),
		WireLen: binary.BigEndian.Uint32(b[16:]),
		CRC:     binary.BigEndian.Uint32(b[20:]),
	}
	if f.Offset < 0 {
		return f, fmt.Errorf("frame: negative offset: %w", ErrProtocol)
	}
	switch f.Type {
	case frameData:
		if f.RawLen > MaxFrameSize || f.WireLen > MaxFrameSize+MaxFrameSize/64+1024 {
			return f, fmt.Errorf("frame: %d raw / %d wire bytes exceeds %d: %w", f.RawLen, f.WireLen, MaxFrameSize, ErrProtocol)
		}
		if f.Flags&frameFlagZstd == 0 && f.RawLen != f.WireLen {
			return f, fmt.Errorf("frame: raw frame with %d raw but %d wire bytes: %w", f.RawLen, f.WireLen, ErrProtocol)
		}
	case frameEnd:
		if f.WireLen != sha256.Size+macSize {
			return f, fmt.Errorf("end frame: %d payload bytes: %w", f.WireLen, ErrProtocol)
		}
	case frameError:
		if f.WireLen > maxMessageLen {
			return f, fmt.Errorf("error frame: %d bytes: %w", f.WireLen, ErrProtocol)
		}
	default:
		return f, fmt.Errorf("frame: unknown type %d: %w", f.Type, ErrProtocol)
	}
	return f, nil
}

type clientMsg struct {
	Type   uint8
	Offset int64
}

func (m clientMsg) encode() [clientMsgLen]byte {
	var b [clientMsgLen]byte
	b[0] = m.Type
	binary.BigEndian.PutUint64(b[8:], uint64(m.Offset))
	return b
}

func readClientMsg(r io.Reader) (clientMsg, error) {
	var b [clientMsgLen]byte
	if _, err := io.ReadFull(r, b[:]); err != nil {
		return clientMsg{}, fmt.Errorf("read client message: %w", err)
	}
	m := clientMsg{Type: b[0], Offset: int64(binary.BigEndian.Uint64(b[8:]))}
	if (m.Type != msgAck && m.Type != msgDone) || m.Offset < 0 {
		return m, fmt.Errorf("client message type %#x offset %d: %w", m.Type, m.Offset, ErrProtocol)
	}
	return m, nil
}

func appendString16(b []byte, s string) []byte {
	b = binary.BigEndian.AppendUint16(b, uint16(len(s)))
	return append(b, s...)
}

func readString16(r io.Reader, limit int) (string, error) {
	var n [2]byte
	if _, err := io.ReadFull(r, n[:]); err != nil {
		return "", err
	}
	l := int(binary.BigEndian.Uint16(n[:]))
	if l > limit {
		return "", fmt.Errorf("string of %d bytes exceeds %d: %w", l, limit, ErrProtocol)
	}
	b := make([]byte, l)
	if _, err := io.ReadFull(r, b); err != nil {
		return "", err
	}
	return string(b), nil
}

func truncate(s string, n int) string {
	if len(s) <= n {
		return s
	}
	return s[:n]
}
