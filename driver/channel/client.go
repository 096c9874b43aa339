package channel

import (
	"bufio"
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
	"time"

	"github.com/shardwise/shardwise/driver/channel/connect"
)

// Errors of a fetch. Each is wrapped with the channel and the cause.
var (
	// ErrUpstreamGone: the retries were spent without progress, or the
	// upstream no longer has the channel.
	ErrUpstreamGone = errors.New("upstream gone")
	// ErrRefused: the server refused our credential for the run.
	ErrRefused = errors.New("refused by upstream")
	// ErrServerAuth: the server could not prove it holds the run key.
	ErrServerAuth = errors.New("upstream failed to authenticate")
	// ErrChecksum: a frame's CRC-32C, the total size or the SHA-256 of the
	// whole stream did not match. Fetches retry (from zero for files).
	ErrChecksum = errors.New("checksum mismatch")
	// ErrUpstreamFailed: the producer reported an error retrying cannot fix
	// (a stream aborted, an offset no longer retained).
	ErrUpstreamFailed = errors.New("upstream failed")
	// ErrDeliver: the bytes could not be written where they belong (disk
	// full, the task closed its pipe); retrying the upstream cannot help.
	ErrDeliver = errors.New("cannot deliver")
)

// Request names a channel to fetch and how.
type Request struct {
	Run     string
	Channel string
	// Key is the run key (RunKey).
	Key []byte
	// Resolve returns the upstream's host:port; it is called before every
	// attempt so that a moved upstream is followed. An error counts as a
	// failed attempt; one wrapping ErrUpstreamGone ends the fetch.
	Resolve func(ctx context.Context) (string, error)
	// ExpectSize (bytes, -1 when unknown) and ExpectSHA256 (hex, "" when
	// unknown) are what the registry advertised; a transfer must match them.
	ExpectSize   int64
	ExpectSHA256 string
	// NoCompression asks the server for raw frames.
	NoCompression bool
	Retry         RetryPolicy
	// Dialer dials the upstream (default: a net.Dialer with a 10 s timeout).
	Dialer interface {
		DialContext(ctx context.Context, network, addr string) (net.Conn, error)
	}
	// HandshakeTimeout bounds each handshake (default DefaultHandshakeTimeout).
	HandshakeTimeout time.Duration
	// TLS, when not nil, wraps each connection in TLS with this config
	// (connect.Identity.ClientConfig: the server must prove the producer
	// service's Connect identity); nil connects in plaintext
	// (insecure_channels).
	TLS *tls.Config
}

// Result describes a completed transfer.
type Result struct {
	Size     int64  // bytes
	SHA256   string // hex
	Attempts int    // connections made, the successful one included
}

// sink is where a transfer's bytes go, in order.
type sink interface {
	// offset is the number of bytes durably delivered: the resume offset.
	offset() int64
	// write delivers p, which starts at offset().
	write(p []byte) error
	// sum is the SHA-256 of the bytes delivered so far.
	sum() [sha256.Size]byte
	// checkpoint makes delivered bytes durable before a reconnect.
	checkpoint() error
	// reset drops everything delivered; ok false when it cannot (a stream
	// already handed to its task).
	reset() (ok bool, err error)
	// verified is called after the end frame checked out, before the
	// server is told the channel was consumed.
	verified(Result) error
}

// fetch runs attempts until the sink holds the whole, verified channel.
func fetch(ctx context.Context, req *Request, dst sink) (Result, error) {
	policy := req.Retry.withDefaults()
	failures := 0
	for attempt := 1; ; attempt++ {
		before := dst.offset()
		res, err := runAttempt(ctx, req, dst)
		if err == nil {
			res.Attempts = attempt
			return res, nil
		}
		if ctx.Err() != nil {
			return res, fmt.Errorf("channel %s: %w", req.Channel, ctx.Err())
		}
		if err := recoverSink(dst, err); err != nil {
			return res, fmt.Errorf("channel %s: %w", req.Channel, err)
		}
		if dst.offset() > before {
			failures = 0
		}
		failures++
		if failures >= policy.Attempts {
			return res, fmt.Errorf("channel %s: %w after %d failed attempts in a row: %w", req.Channel, ErrUpstreamGone, failures, err)
		}
		if werr := policy.wait(ctx, failures); werr != nil {
			return res, fmt.Errorf("channel %s: %w (last error: %w)", req.Channel, werr, err)
		}
	}
}

// recoverSink prepares the sink for another attempt after err, or returns
// the error that ends the fetch.
func recoverSink(dst sink, err error) error {
	if errors.Is(err, ErrRefused) || errors.Is(err, ErrServerAuth) || errors.Is(err, ErrUpstreamFailed) ||
		errors.Is(err, ErrUpstreamGone) || errors.Is(err, ErrDeliver) {
		return err
	}
	if errors.Is(err, ErrChecksum) || errors.Is(err, ErrOffsetGone) {
		ok, rerr := dst.reset()
		if rerr != nil {
			return fmt.Errorf("%w (reset: %w)", err, rerr)
		}
		if !ok {
			return err
		}
		return nil
	}
	if cerr := dst.checkpoint(); cerr != nil {
		return fmt.Errorf("%w (checkpoint: %w)", err, cerr)
	}
	return nil
}

// runAttempt makes one connection and transfers what it can.
func runAttempt(ctx context.Context, req *Request, dst sink) (Result, error) {
	addr, err := req.Resolve(ctx)
	if err != nil {
		return Result{}, fmt.Errorf("resolve upstream: %w", err)
	}
	conn, err := dial(ctx, req, addr)
	if err != nil {
		return Result{}, err
	}
	defer conn.Close()
	if conn, err = secure(ctx, req, conn); err != nil {
		return Result{}, fmt.Errorf("upstream %s: %w", addr, err)
	}
	stop := context.AfterFunc(ctx, func() { conn.Close() })
	defer stop()
	// A small buffer: a frame's payload is read past it, straight into the
	// frame buffer, once the bytes buffered with its header are copied.
	br := bufio.NewReaderSize(conn, 16<<10)
	t, err := clientHandshake(conn, br, req, dst.offset())
	if err != nil {
		if isRemoteAlert(err) {
			// TLS 1.3: a server that refuses our certificate says so
			// after our side of the handshake completed (retried, as
			// in secure).
			err = fmt.Errorf("TLS: the upstream refused our certificate: %w", err)
		}
		return Result{}, fmt.Errorf("upstream %s: %w", addr, err)
	}
	res, err := t.receive(dst)
	if err != nil {
		return res, fmt.Errorf("upstream %s: %w", addr, err)
	}
	return res, nil
}

func dial(ctx context.Context, req *Request, addr string) (net.Conn, error) {
	d := req.Dialer
	if d == nil {
		d = &net.Dialer{Timeout: 10 * time.Second}
	}
	conn, err := d.DialContext(ctx, "tcp", addr)
	if err != nil {
		return nil, fmt.Errorf("dial upstream %s: %w", addr, err)
	}
	return conn, nil
}

// secure runs the TLS handshake when req has a TLS config. A server whose
// certificate names another service is ErrServerAuth (final). A
// certificate the Connect roots do not sign, or a TLS alert from the
// server refusing ours, is retried: after a CA change one end may not
// have the new roots yet; an impostor is still never read, and the fetch
// ends with ErrUpstreamGone once the attempts are spent.
func secure(ctx context.Context, req *Request, conn net.Conn) (net.Conn, error) {
	if req.TLS == nil {
		return conn, nil
	}
	timeout := req.HandshakeTimeout
	if timeout <= 0 {
		timeout = DefaultHandshakeTimeout
	}
	hctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	tc := tls.Client(&bufferedConn{Conn: conn, r: bufio.NewReaderSize(conn, tlsReadBuffer)}, req.TLS)
	err := tc.HandshakeContext(hctx)
	switch {
	case err == nil:
		return tc, nil
	case errors.Is(err, connect.ErrIdentity):
		return nil, fmt.Errorf("%w: TLS: %w", ErrServerAuth, err)
	case isRemoteAlert(err):
		return nil, fmt.Errorf("TLS handshake: the upstream refused our certificate: %w", err)
	default:
		return nil, fmt.Errorf("TLS handshake: %w", err)
	}
}

// tlsReadBuffer is the size of the client's socket reads under TLS.
const tlsReadBuffer = 512 << 10

// bufferedConn reads its connection through a buffer: Go's TLS asks the
// connection for about one record (16 KiB) per read, 64 system calls per
// 1 MiB frame; through the buffer each read(2) takes what the socket holds,
// up to tlsReadBuffer.
type bufferedConn struct {
	net.Conn
	r *bufio.Reader
}

func (c *bufferedConn) Read(p []byte) (int, error) { return c.r.Read(p) }

// isRemoteAlert reports whether err is a TLS alert the peer sent (a
// refusal of our certificate or TLS version).
func isRemoteAlert(err error) bool {
	var oe *net.OpError
	return errors.As(err, &oe) && oe.Op == "remote error"
}

// transfer is the client side of one authenticated connection.
type transfer struct {
	conn        net.Conn
	br          *bufio.Reader
	req         *Request
	hello       *clientHello
	serverNonce [nonceSize]byte
	rp          *reply
	dec         *frameDecoder
	acked       int64
	// vouched: the connection is TLS and the server sends a stored
	// channel's frames with the CRC-32Cs of its publish pass
	// (codecRawStored); trusted: the sink skips its SHA-256 for it.
	vouched, trusted bool
	head             []byte // a spliced frame's bytes read with its header
}

// clientHandshake authenticates both ends and asks for the channel from
// offset (bytes).
func clientHandshake(conn net.Conn, br *bufio.Reader, req *Request, offset int64) (*transfer, error) {
	timeout := req.HandshakeTimeout
	if timeout <= 0 {
		timeout = DefaultHandshakeTimeout
	}
	conn.SetDeadline(time.Now().Add(timeout))
	defer conn.SetDeadline(time.Time{})
	sh, err := readServerHello(br)
	if err != nil {
		return nil, err
	}
	t := &transfer{conn: conn, br: br, req: req, serverNonce: sh.Nonce, acked: offset}
	t.hello = &clientHello{Version: protocolVersion, Run: req.Run, Channel: req.Channel, Offset: offset}
	if !req.NoCompression {
		t.hello.Flags = flagAcceptZstd
	}
	if req.TLS != nil {
		t.hello.Flags |= flagStoredCRCs
	}
	if _, err := rand.Read(t.hello.Nonce[:]); err != nil {
		return nil, err
	}
	t.hello.MAC = clientMAC(req.Key, t.hello, sh.Nonce)
	if _, err := conn.Write(t.hello.encode()); err != nil {
		return nil, fmt.Errorf("send hello: %w", err)
	}
	if t.rp, err = readReply(br); err != nil {
		return nil, err
	}
	return t, t.checkReply()
}

// checkReply maps a refusal to its error and verifies the server's proof.
func (t *transfer) checkReply() error {
	switch t.rp.Status {
	case statusOK:
	case statusAuth:
		return fmt.Errorf("%w: %s", ErrRefused, t.rp.Message)
	case statusNotFound:
		return fmt.Errorf("%w: %s", ErrUpstreamGone, t.rp.Message)
	case statusOffset:
		return fmt.Errorf("%w: %s", ErrOffsetGone, t.rp.Message)
	case statusVersion:
		return fmt.Errorf("%w: %s", ErrRefused, t.rp.Message)
	default:
		return fmt.Errorf("upstream status %d: %s", t.rp.Status, t.rp.Message)
	}
	want := serverMAC(t.req.Key, t.hello, t.serverNonce)
	if !hmac.Equal(want[:], t.rp.MAC[:]) {
		return ErrServerAuth
	}
	if t.rp.Size >= 0 && t.req.ExpectSize >= 0 && t.rp.Size != t.req.ExpectSize {
		return fmt.Errorf("%w: upstream serves %d bytes, registry says %d", ErrChecksum, t.rp.Size, t.req.ExpectSize)
	}
	t.vouched = t.rp.Codec == codecRawStored && t.req.TLS != nil
	if t.rp.Codec == codecZstd {
		dec, err := newFrameDecoder()
		if err != nil {
			return err
		}
		t.dec = dec
	}
	return nil
}

// bufferSink is a sink that lends the buffers frames are read (or
// decompressed) into and takes them back, bytes and all, without a copy.
type bufferSink interface {
	// buffer lends a buffer of n bytes.
	buffer(n int) []byte
	// push delivers b, a lent buffer holding the bytes at offset(); the
	// sink owns it again.
	push(b []byte) error
	// release gives back a lent buffer without delivering it.
	release(b []byte)
}

// deferringSink is a sink that can leave the SHA-256 of what it delivers
// to the producer (see fileSink.deferHash).
type deferringSink interface {
	// deferHash is called at the start of each transfer: vouched says the
	// transfer is over TLS with the CRCs of the publish pass. It returns
	// whether the sink skips its own SHA-256 (then end trusts the end
	// frame's, which the producer computed at publish).
	deferHash(vouched bool) (bool, error)
}

// receive reads frames into dst until the end frame verifies. Data frames
// go into buffers dst lends when it is a bufferSink, else into one
// reusable buffer.
func (t *transfer) receive(dst sink) (Result, error) {
	if t.dec != nil {
		defer t.dec.close()
	}
	if ds, ok := dst.(deferringSink); ok {
		trusted, err := ds.deferHash(t.vouched)
		if err != nil {
			return Result{}, fmt.Errorf("%w: %w", ErrDeliver, err)
		}
		t.trusted = trusted
	}
	bs, _ := dst.(bufferSink)
	// Plaintext into a file: raw frames go from the socket into the file
	// in the kernel (splice), as a plain copy receives.
	sp, _ := dst.(spliceSink)
	tcp, _ := t.conn.(*net.TCPConn)
	if tcp == nil {
		sp = nil
	}
	var own, raw []byte
	for {
		h, err := readFrameHeader(t.br)
		if err != nil {
			return Result{}, err
		}
		if sp != nil && h.Type == frameData && h.Flags&frameFlagZstd == 0 && int(h.WireLen) > t.br.Buffered() {
			if err := t.spliceData(sp, tcp, dst, h); err != nil {
				return Result{}, err
			}
			continue
		}
		lent := bs != nil && h.Type == frameData && h.Flags&frameFlagZstd == 0
		var payload []byte
		if lent {
			payload = bs.buffer(int(h.WireLen))
		} else {
			own = grow(own, int(h.WireLen))
			payload = own
		}
		if _, err := io.ReadFull(t.br, payload); err != nil {
			if lent {
				bs.release(payload)
			}
			return Result{}, fmt.Errorf("read frame: %w", err)
		}
		switch h.Type {
		case frameData:
			if raw, err = t.data(dst, bs, h, payload, raw); err != nil {
				return Result{}, err
			}
		case frameEnd:
			return t.end(dst, h, payload)
		case frameError:
			if h.Flags&frameFlagPermanent != 0 {
				return Result{}, fmt.Errorf("%w: %s", ErrUpstreamFailed, payload)
			}
			return Result{}, fmt.Errorf("upstream error: %s", payload)
		}
	}
}

// spliceData delivers a raw data frame whose payload is mostly still in
// the socket: the part bufio read with the header, then the rest spliced.
func (t *transfer) spliceData(sp spliceSink, tcp *net.TCPConn, dst sink, h frameHeader) error {
	if h.Offset != dst.offset() {
		return fmt.Errorf("frame at offset %d, expected %d: %w", h.Offset, dst.offset(), ErrProtocol)
	}
	t.head = grow(t.head, t.br.Buffered())
	if _, err := io.ReadFull(t.br, t.head); err != nil {
		return fmt.Errorf("read frame: %w", err)
	}
	if err := sp.splice(t.head, tcp, int(h.WireLen), h.CRC); err != nil {
		if errors.Is(err, ErrChecksum) || errors.Is(err, ErrDeliver) {
			return err
		}
		return fmt.Errorf("frame at offset %d: %w", h.Offset, err)
	}
	return t.maybeAck(dst.offset())
}

// grow returns b resized to n bytes, reallocated only when too small.
func grow(b []byte, n int) []byte {
	if cap(b) < n {
		return make([]byte, n)
	}
	return b[:n]
}

// data checks one data frame and delivers it. When bs is not nil, a raw
// payload is a buffer bs lent, and a compressed one is decompressed into
// one; otherwise raw is the reusable decompression buffer. Lent buffers
// go back to bs on every path.
func (t *transfer) data(dst sink, bs bufferSink, h frameHeader, payload, raw []byte) ([]byte, error) {
	data, err := t.check(dst, bs, h, payload, raw)
	if err != nil {
		return raw, err
	}
	if bs == nil {
		if h.Flags&frameFlagZstd != 0 {
			raw = data
		}
		err = dst.write(data)
	} else {
		err = bs.push(data)
	}
	if err != nil {
		return raw, fmt.Errorf("%w: frame at offset %d: %w", ErrDeliver, h.Offset, err)
	}
	return raw, t.maybeAck(dst.offset())
}

// check decompresses a data frame if needed and checks its offset and
// CRC-32C; it returns the raw bytes. With bs, those are in a lent buffer
// (given back here when the frame is refused).
func (t *transfer) check(dst sink, bs bufferSink, h frameHeader, payload, raw []byte) (data []byte, err error) {
	data = payload
	if h.Flags&frameFlagZstd != 0 {
		if t.dec == nil {
			return nil, fmt.Errorf("compressed frame without zstd codec: %w", ErrProtocol)
		}
		if bs != nil {
			raw = bs.buffer(int(h.RawLen))
		}
		out, derr := t.dec.decode(payload, raw, int(h.RawLen))
		if derr != nil {
			if bs != nil {
				bs.release(raw)
			}
			return nil, derr
		}
		data = out
	}
	defer func() {
		if err != nil && bs != nil {
			bs.release(data)
		}
	}()
	if h.Offset != dst.offset() {
		return nil, fmt.Errorf("frame at offset %d, expected %d: %w", h.Offset, dst.offset(), ErrProtocol)
	}
	if crc32Checksum(data) != h.CRC {
		return nil, fmt.Errorf("%w: CRC-32C of frame at offset %d", ErrChecksum, h.Offset)
	}
	return data, nil
}

// maybeAck acknowledges delivered bytes once a quarter of the server's
// window is unacknowledged, so that a stream's producer never stalls on a
// window the consumer has already drained.
func (t *transfer) maybeAck(off int64) error {
	w := int64(t.rp.Window)
	if w == 0 || off-t.acked < max(w/4, 1) {
		return nil
	}
	t.acked = off
	return t.send(clientMsg{Type: msgAck, Offset: off})
}

func (t *transfer) send(m clientMsg) error {
	b := m.encode()
	if _, err := t.conn.Write(b[:]); err != nil {
		return fmt.Errorf("send ack: %w", err)
	}
	return nil
}

// end verifies the end frame against what was delivered, commits the sink
// and tells the server the channel was consumed.
func (t *transfer) end(dst sink, h frameHeader, payload []byte) (Result, error) {
	sum := [sha256.Size]byte(payload[:sha256.Size])
	mac := endMAC(t.req.Key, t.serverNonce, t.hello.Nonce, h.Offset, sum)
	if !hmac.Equal(mac[:], payload[sha256.Size:]) {
		return Result{}, fmt.Errorf("%w: end frame MAC", ErrServerAuth)
	}
	res := Result{Size: dst.offset(), SHA256: hex.EncodeToString(sum[:])}
	if h.Offset != dst.offset() {
		return res, fmt.Errorf("%w: received %d bytes, upstream sent %d", ErrChecksum, dst.offset(), h.Offset)
	}
	if !t.trusted {
		if got := dst.sum(); got != sum {
			return res, fmt.Errorf("%w: SHA-256 %x, upstream says %x", ErrChecksum, got, sum)
		}
	}
	if t.req.ExpectSHA256 != "" && t.req.ExpectSHA256 != res.SHA256 {
		return res, fmt.Errorf("%w: SHA-256 %s, registry says %s", ErrChecksum, res.SHA256, t.req.ExpectSHA256)
	}
	if err := dst.verified(res); err != nil {
		return res, fmt.Errorf("%w: %w", ErrDeliver, err)
	}
	t.send(clientMsg{Type: msgDone, Offset: res.Size}) // best effort: the data is ours now
	return res, nil
}
