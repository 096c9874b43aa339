package channel

import (
	"bufio"
	"bytes"
	"context"
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha256"
	"crypto/tls"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"net"
	"os"
	"path/filepath"
	"sync"
	"syscall"
	"time"

	hclog "github.com/hashicorp/go-hclog"
	"github.com/shardwise/shardwise/driver/channel/connect"
)

// Defaults of ServerConfig.
const (
	// DefaultFrameSize is the raw bytes per data frame.
	DefaultFrameSize = 1 << 20
	// DefaultHandshakeTimeout bounds the handshake and the wait for the
	// client's final message.
	DefaultHandshakeTimeout = 10 * time.Second
)

// ServerConfig configures a Server. Zero values take the defaults.
type ServerConfig struct {
	// FrameSize is the raw payload of a data frame in bytes, at most
	// MaxFrameSize (default DefaultFrameSize).
	FrameSize int
	// CompressionLevel is the zstd level (1 fastest to 22 smallest) used
	// for clients that accept zstd; 0 or less sends raw frames.
	CompressionLevel int
	// HandshakeTimeout bounds the handshake (default DefaultHandshakeTimeout).
	HandshakeTimeout time.Duration
	// Logger receives refusals (warn) and transfer outcomes (debug).
	Logger hclog.Logger
	// Consumed is called, once per channel, after a client verified the
	// whole of it and said so; the owner then deregisters and deletes it.
	Consumed func(Entry)
	// TLS, when not nil, wraps every connection in TLS with this config
	// (connect.Identity.ServerConfig: mutual TLS 1.3 with Connect
	// identities); nil serves plaintext (insecure_channels).
	TLS *tls.Config
	// Authorize, with TLS, decides after the handshake whether the
	// client may pull (connect.Authorizer: Consul intentions). It returns
	// the client's identity for the logs, and an error: wrapping
	// connect.ErrDenied for a refusal, any other for "cannot tell now"
	// (the client retries). Nil accepts every verified client.
	Authorize func(ctx context.Context, cs tls.ConnectionState) (string, error)
}

// Server serves the channels one driver plugin published: files and
// directories from its Store, and live Streams. It is safe for concurrent
// use; one Server serves any number of connections.
type Server struct {
	cfg    ServerConfig
	log    hclog.Logger
	store  *Store
	frames *frameCache // compressed frames of stored files, shared by connections

	mu       sync.Mutex
	streams  map[chanKey]*streamEntry
	consumed map[chanKey]bool
	conns    map[net.Conn]struct{}
	ln       net.Listener
	closing  bool
	wg       sync.WaitGroup
}

type streamEntry struct {
	entry Entry
	live  liveChannel
}

// liveChannel is a channel served while it is produced: a Stream (a
// window in memory) or a growingFile (the task's output file on disk).
type liveChannel interface {
	// open returns a source for one connection.
	open() (source, error)
}

// NewServer returns a server for the channels in store (which may be nil
// for a server of streams only).
func NewServer(store *Store, cfg ServerConfig) *Server {
	if cfg.FrameSize <= 0 || cfg.FrameSize > MaxFrameSize {
		cfg.FrameSize = DefaultFrameSize
	}
	if cfg.HandshakeTimeout <= 0 {
		cfg.HandshakeTimeout = DefaultHandshakeTimeout
	}
	log := cfg.Logger
	if log == nil {
		log = hclog.NewNullLogger()
	}
	return &Server{cfg: cfg, log: log, store: store, frames: newFrameCache(DefaultFrameCacheBytes), streams: map[chanKey]*streamEntry{},
		consumed: map[chanKey]bool{}, conns: map[net.Conn]struct{}{}}
}

// AddStream serves st as channel (e.Run, e.Channel) with run key e.Key,
// replacing any stream of that channel.
func (s *Server) AddStream(e Entry, st *Stream) { s.addLive(e, st) }

// addLive serves a live channel as (e.Run, e.Channel), replacing any.
func (s *Server) addLive(e Entry, lc liveChannel) {
	s.mu.Lock()
	defer s.mu.Unlock()
	k := chanKey{e.Run, e.Channel}
	s.streams[k] = &streamEntry{entry: e, live: lc}
	delete(s.consumed, k)
}

// RemoveStream stops serving a stream channel.
func (s *Server) RemoveStream(run, channel string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	delete(s.streams, chanKey{run, channel})
}

// Serve accepts connections on ln until Close; it returns nil after Close
// and the accept error otherwise.
func (s *Server) Serve(ln net.Listener) error {
	s.mu.Lock()
	if s.closing {
		s.mu.Unlock()
		return ln.Close()
	}
	s.ln = ln
	s.mu.Unlock()
	for {
		conn, err := ln.Accept()
		if err != nil {
			if s.isClosing() {
				return nil
			}
			return fmt.Errorf("channel server accept: %w", err)
		}
		if !s.track(conn) {
			conn.Close()
			return nil
		}
		go s.handle(conn)
	}
}

func (s *Server) isClosing() bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.closing
}

func (s *Server) track(conn net.Conn) bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.closing {
		return false
	}
	s.conns[conn] = struct{}{}
	s.wg.Add(1)
	return true
}

func (s *Server) untrack(conn net.Conn) {
	s.mu.Lock()
	delete(s.conns, conn)
	s.mu.Unlock()
	s.wg.Done()
}

// Close stops accepting, breaks every open connection (clients resume
// elsewhere or later) and waits for the handlers to return.
func (s *Server) Close() error {
	s.mu.Lock()
	s.closing = true
	var err error
	if s.ln != nil {
		err = s.ln.Close()
	}
	for c := range s.conns {
		c.Close()
	}
	s.mu.Unlock()
	s.wg.Wait()
	if err != nil && !errors.Is(err, net.ErrClosed) {
		return fmt.Errorf("close channel server: %w", err)
	}
	return nil
}

// handle runs one connection: handshake, then the transfer.
func (s *Server) handle(conn net.Conn) {
	defer s.untrack(conn)
	defer conn.Close()
	peer := conn.RemoteAddr().String()
	conn.SetDeadline(time.Now().Add(s.cfg.HandshakeTimeout))
	conn, p, ok := s.secure(conn, peer)
	if !ok {
		return
	}
	br := bufio.NewReaderSize(conn, 4096)
	hello, src, err := s.handshake(conn, br, p)
	if err != nil {
		return
	}
	defer src.close()
	conn.SetDeadline(time.Time{})
	if err := s.transfer(conn, br, hello, src); err != nil {
		s.log.Debug("channel transfer ended", "peer", peer, "run", hello.run, "channel", hello.ch.Channel, "error", err)
	}
}

// secure runs the TLS handshake and the authorization of the client's
// identity when the server has a TLS config; it returns the connection to
// use and what is known of the peer. A refused handshake is logged,
// except a peer that hangs up at once (a TCP health check).
func (s *Server) secure(conn net.Conn, peer string) (net.Conn, *peerInfo, bool) {
	if s.cfg.TLS == nil {
		return conn, &peerInfo{addr: peer}, true
	}
	bc := &batchConn{Conn: conn}
	tc := tls.Server(bc, s.cfg.TLS)
	ctx, cancel := context.WithTimeout(context.Background(), s.cfg.HandshakeTimeout)
	defer cancel()
	if err := tc.HandshakeContext(ctx); err != nil {
		if errors.Is(err, io.EOF) || errors.Is(err, syscall.ECONNRESET) {
			s.log.Debug("channel peer hung up during the TLS handshake", "peer", peer)
		} else {
			s.log.Warn("refused channel peer: TLS", "peer", peer, "reason", err.Error())
		}
		return nil, nil, false
	}
	p := &peerInfo{addr: peer, out: bc}
	bc.batch = true // from here on, records go out per frame (flush)
	if s.cfg.Authorize != nil {
		p.identity, p.authzErr = s.cfg.Authorize(ctx, tc.ConnectionState())
	}
	return tc, p, true
}

// peerInfo is what the server knows of a connection's peer before its
// hello: its address and, with TLS, its identity and whether the
// intentions let it pull (authzErr nil).
type peerInfo struct {
	addr, identity string
	authzErr       error
	out            *batchConn // nil without TLS
}

// batchConn gathers the TLS records of one frame into one write: Go's TLS
// writes every record (16 KiB) with a syscall of its own, 64 per 1 MiB
// frame. While batch is set, writes are buffered until flush (or 1 MiB
// more than a frame, whichever first).
type batchConn struct {
	net.Conn
	batch bool
	buf   []byte
}

func (b *batchConn) Write(p []byte) (int, error) {
	if !b.batch {
		return b.Conn.Write(p)
	}
	b.buf = append(b.buf, p...)
	if len(b.buf) >= MaxFrameSize+(1<<20) {
		return len(p), b.flush()
	}
	return len(p), nil
}

// flush writes what was gathered.
func (b *batchConn) flush() error {
	if b == nil || len(b.buf) == 0 {
		return nil
	}
	_, err := b.Conn.Write(b.buf)
	b.buf = b.buf[:0]
	return err
}

// session is an authenticated connection's state.
type session struct {
	ch          *clientHello
	serverNonce [nonceSize]byte
	key         []byte
	run         string
	entry       Entry
	out         *batchConn // gathers TLS records; nil without TLS
	// storedCRCs: the reply said codecRawStored; every frame read goes
	// through fileSource.readStored.
	storedCRCs bool
}

// handshake authenticates the peer and opens the requested channel. Every
// refusal is answered with a status and logged; a peer that hangs up before
// its hello (a TCP health check) is not.
func (s *Server) handshake(conn net.Conn, br *bufio.Reader, p *peerInfo) (*session, source, error) {
	peer := p.addr
	ss := &session{out: p.out}
	if _, err := rand.Read(ss.serverNonce[:]); err != nil {
		return nil, nil, err
	}
	if _, err := conn.Write((&serverHello{Nonce: ss.serverNonce}).encode()); err != nil {
		return nil, nil, err
	}
	if err := ss.out.flush(); err != nil {
		return nil, nil, err
	}
	ch, err := readClientHello(br)
	if err != nil {
		if !errors.Is(err, io.EOF) {
			s.log.Warn("refused channel peer: bad hello", "peer", peer, "error", err)
		}
		return nil, nil, err
	}
	ss.ch, ss.run = ch, ch.Run
	status, msg := s.authorize(p)
	if status == statusOK {
		status, msg = s.authenticate(ss)
	}
	if status == statusOK {
		var src source
		src, status, msg = s.open(ss)
		if status == statusOK {
			return ss, src, s.accept(conn, ss, src)
		}
	}
	level := hclog.Warn
	if status == statusNotFound || status == statusOffset {
		level = hclog.Info
	}
	s.log.Log(level, "refused channel peer", "peer", peer, "identity", p.identity, "run", ch.Run, "channel", ch.Channel, "reason", msg)
	conn.Write((&reply{Status: status, Message: msg}).encode())
	p.out.flush()
	return nil, nil, fmt.Errorf("refused: %s", msg)
}

// authorize answers the intentions' decision on the peer's identity: a
// denial is a refusal, a failure to ask is "busy" (the client retries).
func (s *Server) authorize(p *peerInfo) (uint8, string) {
	switch {
	case p.authzErr == nil:
		return statusOK, ""
	case errors.Is(p.authzErr, connect.ErrDenied):
		return statusAuth, p.authzErr.Error()
	default:
		return statusBusy, p.authzErr.Error()
	}
}

// authenticate checks the version and the client's MAC with the run key.
// An unknown run and a wrong MAC get the same answer.
func (s *Server) authenticate(ss *session) (uint8, string) {
	if ss.ch.Version != protocolVersion {
		return statusVersion, fmt.Sprintf("protocol version %d not supported (want %d)", ss.ch.Version, protocolVersion)
	}
	key, ok := s.runKey(ss.run)
	want := clientMAC(key, ss.ch, ss.serverNonce)
	if !ok || !hmac.Equal(want[:], ss.ch.MAC[:]) {
		return statusAuth, "peer does not hold the run's credential"
	}
	ss.key = key
	return statusOK, ""
}

// runKey returns the key of run from its streams or its stored channels.
func (s *Server) runKey(run string) ([]byte, bool) {
	s.mu.Lock()
	for k, se := range s.streams {
		if k.run == run {
			s.mu.Unlock()
			return se.entry.Key, true
		}
	}
	s.mu.Unlock()
	if s.store != nil {
		return s.store.RunKey(run)
	}
	return nil, false
}

// open finds the channel and checks the resume offset against it.
func (s *Server) open(ss *session) (source, uint8, string) {
	k := chanKey{ss.run, ss.ch.Channel}
	s.mu.Lock()
	se := s.streams[k]
	s.mu.Unlock()
	if se != nil {
		src, err := se.live.open()
		if err != nil {
			return nil, statusBusy, err.Error()
		}
		ss.entry = se.entry
		return src, statusOK, ""
	}
	if s.store == nil {
		return nil, statusNotFound, "no such channel"
	}
	e, path, ok := s.store.Get(ss.run, ss.ch.Channel)
	if !ok {
		return nil, statusNotFound, "no such channel"
	}
	if ss.ch.Offset > e.Size {
		return nil, statusOffset, fmt.Sprintf("resume offset %d beyond size %d", ss.ch.Offset, e.Size)
	}
	src, err := openFileSource(path, e)
	if err != nil {
		return nil, statusNotFound, err.Error()
	}
	ss.entry = e
	return src, statusOK, ""
}

// accept sends the OK reply with the server's proof of the run key.
func (s *Server) accept(conn net.Conn, ss *session, src source) error {
	rp := &reply{Status: statusOK, MAC: serverMAC(ss.key, ss.ch, ss.serverNonce), Size: src.size(),
		Window: uint32(src.window()), Codec: codecRaw}
	if ss.ch.Flags&flagAcceptZstd != 0 && s.cfg.CompressionLevel > 0 {
		rp.Codec = codecZstd
	}
	if fs, ok := src.(*fileSource); ok && rp.Codec == codecRaw && ss.ch.Flags&flagStoredCRCs != 0 &&
		fs.crcs != nil && s.cfg.FrameSize >= crcBlock {
		rp.Codec, ss.storedCRCs = codecRawStored, true
	}
	if _, err := conn.Write(rp.encode()); err != nil {
		return err
	}
	return ss.out.flush()
}

// transfer sends the frames from the resume offset and, after the end
// frame, waits for the client's done message.
func (s *Server) transfer(conn net.Conn, br *bufio.Reader, ss *session, src source) error {
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	// The client delivered everything before its resume offset: that is an
	// acknowledgement. Without it a stream whose last ack was lost in the
	// cut would keep a full window the client never acknowledges again.
	src.ack(ss.ch.Offset)
	done := make(chan int64, 1)
	go readAcks(ctx, cancel, br, src, done)
	level := 0
	if ss.ch.Flags&flagAcceptZstd != 0 {
		level = s.cfg.CompressionLevel
	}
	enc, err := newFrameEncoder(level)
	if err != nil {
		return err
	}
	defer enc.close()
	size, err := s.sendFrames(ctx, conn, ss, src, enc)
	if err != nil {
		return err
	}
	conn.SetReadDeadline(time.Now().Add(s.cfg.HandshakeTimeout))
	select {
	case n := <-done:
		if n == size {
			s.markConsumed(ss.entry)
		}
		return nil
	case <-ctx.Done():
		return errors.New("connection closed before the client's done message")
	}
}

// readAcks reads client messages: acks go to src, done's offset to done.
// It cancels ctx when the connection fails.
func readAcks(ctx context.Context, cancel context.CancelFunc, br *bufio.Reader, src source, done chan<- int64) {
	defer cancel()
	for ctx.Err() == nil {
		m, err := readClientMsg(br)
		if err != nil {
			return
		}
		src.ack(m.Offset)
		if m.Type == msgDone {
			done <- m.Offset
			return
		}
	}
}

// sendFrames sends data frames from the resume offset to the end, then the
// end frame; it returns the total size in bytes. A source error is sent to
// the client as an error frame. Raw frames of a stored file with block
// CRCs go out with sendfile(2) (sendStored); the others are read into buf,
// checksummed and written.
func (s *Server) sendFrames(ctx context.Context, conn net.Conn, ss *session, src source, enc *frameEncoder) (int64, error) {
	buf := make([]byte, s.cfg.FrameSize)
	off := ss.ch.Offset
	fs, _ := src.(*fileSource)
	tcp, _ := conn.(*net.TCPConn)
	if fs == nil || fs.crcs == nil || tcp == nil || enc.compresses() {
		fs = nil
	}
	for {
		p := buf
		if fs != nil {
			n, err := fs.sendStored(tcp, off, len(buf))
			off += n
			switch {
			case errors.Is(err, io.EOF):
				return off, s.sendEnd(conn, ss, src, off)
			case errors.Is(err, errNotOnBlocks):
				// Read up to the next block boundary; from there on the
				// frames are on blocks.
				p = buf[:min(len(buf), crcBlock-int(off%crcBlock))]
			case errors.Is(err, errNoStoredCRCs):
				fs = nil // read and checksum the rest
			case err != nil:
				return 0, err // the connection, or a frame cut short: no error frame can follow
			default:
				continue
			}
		}
		if cs, ok := src.(*fileSource); ok && enc.compresses() {
			n, err := s.sendCached(ctx, conn, cs, enc, p, off)
			if err == nil {
				if werr := ss.out.flush(); werr != nil {
					return 0, werr
				}
				off += int64(n)
				continue
			}
			if !errors.Is(err, io.EOF) && !isSourceErr(err) {
				return 0, err // the connection
			}
			if errors.Is(err, io.EOF) {
				return off, s.sendEnd(conn, ss, src, off)
			}
			writeErrorFrame(conn, err)
			ss.out.flush()
			return 0, err
		}
		if ss.storedCRCs {
			n, err := s.sendStoredCRC(conn, ss, src.(*fileSource), buf, off)
			off += int64(n)
			switch {
			case errors.Is(err, io.EOF):
				return off, s.sendEnd(conn, ss, src, off)
			case isSourceErr(err):
				writeErrorFrame(conn, err)
				ss.out.flush()
				return 0, err
			case err != nil:
				return 0, err
			}
			continue
		}
		n, err := src.readAt(ctx, p, off)
		if n > 0 {
			if werr := writeDataFrame(conn, enc, off, p[:n]); werr != nil {
				return 0, werr
			}
			if werr := ss.out.flush(); werr != nil {
				return 0, werr
			}
			off += int64(n)
		}
		switch {
		case errors.Is(err, io.EOF):
			return off, s.sendEnd(conn, ss, src, off)
		case err != nil:
			writeErrorFrame(conn, err)
			ss.out.flush()
			return 0, err
		}
	}
}

// sourceErr marks an error of reading the stored bytes (as opposed to one
// of the connection), which is worth an error frame.
type sourceErr struct{ error }

func (e sourceErr) Unwrap() error { return e.error }

func isSourceErr(err error) bool {
	var se sourceErr
	return errors.As(err, &se)
}

// sendCached sends the compressed data frame of a stored file at off, of
// at most len(buf) raw bytes, taking it from the server's frame cache:
// the first connection to need it reads and compresses it, the others
// reuse it. It returns the raw bytes sent, io.EOF at the end, a
// sourceErr when the stored bytes cannot be read, or the write error.
func (s *Server) sendCached(ctx context.Context, conn net.Conn, cs *fileSource, enc *frameEncoder, buf []byte, off int64) (int, error) {
	k := frameKey{sum: cs.sum, size: cs.e.Size, off: off, n: len(buf), level: s.cfg.CompressionLevel}
	fr, err := s.frames.get(k, func() (encodedFrame, error) {
		n, err := cs.readAt(ctx, buf, off)
		if n == 0 {
			if err == nil {
				err = io.ErrNoProgress
			}
			if !errors.Is(err, io.EOF) {
				err = sourceErr{err}
			}
			return encodedFrame{}, err
		}
		payload, z := enc.encode(buf[:n])
		return encodedFrame{rawLen: n, crc: crc32Checksum(buf[:n]), payload: bytes.Clone(payload), zstd: z}, nil
	})
	if err != nil {
		return 0, err
	}
	h := frameHeader{Type: frameData, Offset: off, RawLen: uint32(fr.rawLen), WireLen: uint32(len(fr.payload)), CRC: fr.crc}
	if fr.zstd {
		h.Flags = frameFlagZstd
	}
	return fr.rawLen, writeFrame(conn, h, fr.payload)
}

func (s *Server) sendEnd(conn net.Conn, ss *session, src source, off int64) error {
	defer ss.out.flush()
	size, sum, err := src.final()
	if err != nil {
		writeErrorFrame(conn, err)
		return err
	}
	if size != off {
		err := fmt.Errorf("source ended at %d bytes, expected %d", off, size)
		writeErrorFrame(conn, err)
		return err
	}
	mac := endMAC(ss.key, ss.serverNonce, ss.ch.Nonce, size, sum)
	payload := append(sum[:], mac[:]...)
	if err := writeFrame(conn, frameHeader{Type: frameEnd, Offset: size, WireLen: uint32(len(payload))}, payload); err != nil {
		return err
	}
	return ss.out.flush()
}

func (s *Server) markConsumed(e Entry) {
	k := chanKey{e.Run, e.Channel}
	s.mu.Lock()
	first := !s.consumed[k]
	s.consumed[k] = true
	s.mu.Unlock()
	s.log.Debug("channel consumed", "run", e.Run, "channel", e.Channel, "bytes", e.Size)
	if first && s.cfg.Consumed != nil {
		s.cfg.Consumed(e)
	}
}

// writeDataFrame sends raw (the bytes at off), compressed when that helps.
func writeDataFrame(w io.Writer, enc *frameEncoder, off int64, raw []byte) error {
	payload, z := enc.encode(raw)
	h := frameHeader{Type: frameData, Offset: off, RawLen: uint32(len(raw)), WireLen: uint32(len(payload)),
		CRC: crc32Checksum(raw)}
	if z {
		h.Flags = frameFlagZstd
	}
	return writeFrame(w, h, payload)
}

// writeErrorFrame tells the client why the transfer stopped; errors that
// retrying cannot fix are flagged permanent.
func writeErrorFrame(w io.Writer, err error) {
	msg := []byte(truncate(err.Error(), maxMessageLen))
	h := frameHeader{Type: frameError, WireLen: uint32(len(msg))}
	if errors.Is(err, ErrStreamAborted) || errors.Is(err, ErrOffsetGone) {
		h.Flags = frameFlagPermanent
	}
	writeFrame(w, h, msg)
}

// writeFrame writes a header and its payload with one vectored write.
func writeFrame(w io.Writer, h frameHeader, payload []byte) error {
	var hb [frameHeaderLen]byte
	h.put(&hb)
	bufs := net.Buffers{hb[:], payload}
	_, err := bufs.WriteTo(w)
	return err
}

// source is what a connection serves.
type source interface {
	// readAt reads bytes at off, waiting for a stream's next bytes; io.EOF
	// at the end.
	readAt(ctx context.Context, p []byte, off int64) (int, error)
	// final returns the total size in bytes and SHA-256 after the end.
	final() (int64, [sha256.Size]byte, error)
	ack(off int64)
	size() int64   // total size in bytes; -1 while unknown
	window() int64 // bytes the producer may run ahead of acks; 0 if unbounded
	close()
}

type fileSource struct {
	f    *os.File
	e    Entry
	sum  [sha256.Size]byte
	crcs *blockCRCs // nil when the store has none for this data
	hdr  [frameHeaderLen]byte
	lr   io.LimitedReader
}

func openFileSource(path string, e Entry) (*fileSource, error) {
	sum, err := hex.DecodeString(e.SHA256)
	if err != nil || len(sum) != sha256.Size {
		return nil, fmt.Errorf("channel %s: bad stored checksum %q", e.Channel, e.SHA256)
	}
	f, err := os.Open(path)
	if err != nil {
		return nil, fmt.Errorf("open channel %s: %w", e.Channel, err)
	}
	crcs := openBlockCRCs(filepath.Join(filepath.Dir(path), crcFileName), e.Size)
	return &fileSource{f: f, e: e, sum: [sha256.Size]byte(sum), crcs: crcs}, nil
}

// Reasons sendStored sent nothing: the frame at this offset cannot use
// the stored CRCs, or they cannot be read.
var (
	errNotOnBlocks  = errors.New("frame not on CRC blocks")
	errNoStoredCRCs = errors.New("stored CRCs unreadable")
)

// sendStored sends the raw data frame at off, of at most max bytes, with
// its CRC combined from the stored block CRCs and its bytes sent by
// sendfile(2) from the page cache, never copied through this process. The
// frame ends on a block boundary or at the end; it returns the bytes sent,
// io.EOF at the end, and, having sent nothing, errNotOnBlocks when off is
// not on a block boundary or limit is under a block, errNoStoredCRCs when
// the CRCs cannot be read.
func (f *fileSource) sendStored(conn *net.TCPConn, off int64, limit int) (int64, error) {
	if off >= f.e.Size {
		return 0, io.EOF
	}
	n := min(int64(limit), f.e.Size-off)
	if off+n < f.e.Size {
		n -= n % crcBlock
	}
	if off%crcBlock != 0 || n == 0 {
		return 0, errNotOnBlocks
	}
	crc, err := f.crcs.frame(off, n)
	if err != nil {
		return 0, fmt.Errorf("%w: %w", errNoStoredCRCs, err)
	}
	(&frameHeader{Type: frameData, Offset: off, RawLen: uint32(n), WireLen: uint32(n), CRC: crc}).put(&f.hdr)
	if _, err := conn.Write(f.hdr[:]); err != nil {
		return 0, err
	}
	if _, err := f.f.Seek(off, io.SeekStart); err != nil {
		return 0, fmt.Errorf("channel %s: %w", f.e.Channel, err)
	}
	f.lr = io.LimitedReader{R: f.f, N: n}
	sent, err := conn.ReadFrom(&f.lr)
	if err == nil && sent != n {
		err = fmt.Errorf("channel %s: stored data shorter than %d bytes", f.e.Channel, f.e.Size)
	}
	return sent, err
}

// sendStoredCRC sends the raw data frame at off read into buf, with the
// CRC-32C of the publish pass (readStored). It returns the bytes sent,
// io.EOF at the end, a sourceErr when the stored bytes cannot be read or
// differ from those published, or the connection's error.
func (s *Server) sendStoredCRC(conn net.Conn, ss *session, fs *fileSource, buf []byte, off int64) (int, error) {
	p, crc, err := fs.readStored(buf, off)
	if err != nil {
		if errors.Is(err, io.EOF) {
			return 0, err
		}
		return 0, sourceErr{err}
	}
	h := frameHeader{Type: frameData, Offset: off, RawLen: uint32(len(p)), WireLen: uint32(len(p)), CRC: crc}
	if err := writeFrame(conn, h, p); err != nil {
		return 0, err
	}
	return len(p), ss.out.flush()
}

// readStored reads the raw frame at off, of at most len(buf) bytes, into
// buf and returns its bytes and the CRC-32C the publish pass computed for
// them (combined from the stored block CRCs, as in sendStored). The frame
// ends on a block boundary or at the end of the data. When off is inside a
// block (a resume), the frame is read from that block's start and checked
// against its stored CRCs (ErrChecksum when the bytes differ from those
// published), then returned from off with the CRC of its bytes. It returns
// io.EOF at the end; len(buf) must be at least one block.
func (f *fileSource) readStored(buf []byte, off int64) ([]byte, uint32, error) {
	if off >= f.e.Size {
		return nil, 0, io.EOF
	}
	start := off - off%crcBlock
	n := min(int64(len(buf)), f.e.Size-start)
	if start+n < f.e.Size {
		n -= n % crcBlock
	}
	if start+n <= off {
		return nil, 0, fmt.Errorf("channel %s: frame of %d bytes under a CRC block", f.e.Channel, len(buf))
	}
	p := buf[:n]
	if _, err := f.f.ReadAt(p, start); err != nil {
		if errors.Is(err, io.EOF) {
			err = fmt.Errorf("channel %s: stored data shorter than %d bytes", f.e.Channel, f.e.Size)
		}
		return nil, 0, err
	}
	crc, err := f.crcs.frame(start, n)
	if err != nil {
		return nil, 0, err
	}
	if start == off {
		return p, crc, nil
	}
	if crc32Checksum(p) != crc {
		return nil, 0, fmt.Errorf("%w: channel %s: stored bytes at [%d, %d) differ from those published",
			ErrChecksum, f.e.Channel, start, start+n)
	}
	p = p[off-start:]
	return p, crc32Checksum(p), nil
}

func (f *fileSource) readAt(_ context.Context, p []byte, off int64) (int, error) {
	if off >= f.e.Size {
		return 0, io.EOF
	}
	p = p[:min(int64(len(p)), f.e.Size-off)]
	n, err := f.f.ReadAt(p, off)
	if errors.Is(err, io.EOF) && n == len(p) {
		err = nil
	}
	if errors.Is(err, io.EOF) {
		err = fmt.Errorf("channel %s: stored data shorter than %d bytes", f.e.Channel, f.e.Size)
	}
	return n, err
}

func (f *fileSource) final() (int64, [sha256.Size]byte, error) { return f.e.Size, f.sum, nil }
func (f *fileSource) ack(int64)                                {}
func (f *fileSource) size() int64                              { return f.e.Size }
func (f *fileSource) window() int64                            { return 0 }
func (f *fileSource) close() {
	f.f.Close()
	if f.crcs != nil {
		f.crcs.close()
	}
}

type streamSource struct{ s *Stream }

func (s *Stream) open() (source, error) { return &streamSource{s: s}, nil }

func (s *streamSource) readAt(ctx context.Context, p []byte, off int64) (int, error) {
	return s.s.ReadAt(ctx, p, off)
}

func (s *streamSource) final() (int64, [sha256.Size]byte, error) {
	n, sum, ok := s.s.Final()
	if !ok {
		return 0, sum, errors.New("stream not closed")
	}
	return n, sum, nil
}

func (s *streamSource) ack(off int64) { s.s.Ack(off) }

func (s *streamSource) size() int64 {
	if n, _, ok := s.s.Final(); ok {
		return n
	}
	return -1
}

func (s *streamSource) window() int64 { return int64(s.s.Window()) }
func (s *streamSource) close()        {}

func crc32Checksum(p []byte) uint32 { return crc32Update(0, p) }
