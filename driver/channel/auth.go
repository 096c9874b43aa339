package channel

import (
	"crypto/hmac"
	"crypto/sha256"
	"encoding/binary"
	"errors"
	"hash"
)

// KeySize is the length in bytes of a run key.
const KeySize = sha256.Size

// ErrNoCredential is returned when neither a per-run secret nor a cluster
// secret is configured, so no run key can be made.
var ErrNoCredential = errors.New("channel: no run secret and no cluster secret configured")

// RunKey returns the key that every peer of run must hold. The key is
// HMAC-SHA256(secret, "shardwise-channel/v1 run " + run), where secret is
// runSecret when it is not empty (the launcher's per-run secret, given to
// tasks as SHARDWISE_RUN_SECRET) and clusterSecret otherwise (the plugin
// config's channel_secret, shared by every driver plugin of the cluster).
// Tasks never see the cluster secret, and a run key does not reveal the
// secret it came from or any other run's key.
//
// It returns ErrNoCredential when both secrets are empty.
func RunKey(clusterSecret, runSecret, run string) ([]byte, error) {
	secret := runSecret
	if secret == "" {
		secret = clusterSecret
	}
	if secret == "" {
		return nil, ErrNoCredential
	}
	m := hmac.New(sha256.New, []byte(secret))
	m.Write([]byte("shardwise-channel/v1 run "))
	m.Write([]byte(run))
	return m.Sum(nil), nil
}

// Roles bound into each MAC so that a value from one step of the protocol
// cannot be replayed at another.
const (
	roleClient = "shardwise-channel/v1 client"
	roleServer = "shardwise-channel/v1 server"
	roleEnd    = "shardwise-channel/v1 end"
)

// macBuilder accumulates the fields of one MAC in a fixed, unambiguous
// encoding (length-prefixed strings, big-endian integers).
type macBuilder struct{ h hash.Hash }

func newMAC(key []byte, role string) *macBuilder {
	b := &macBuilder{h: hmac.New(sha256.New, key)}
	return b.str(role)
}

func (b *macBuilder) bytes(p []byte) *macBuilder {
	b.h.Write(p)
	return b
}

func (b *macBuilder) str(s string) *macBuilder {
	var n [4]byte
	binary.BigEndian.PutUint32(n[:], uint32(len(s)))
	b.h.Write(n[:])
	b.h.Write([]byte(s))
	return b
}

func (b *macBuilder) u64(v uint64) *macBuilder {
	var n [8]byte
	binary.BigEndian.PutUint64(n[:], v)
	b.h.Write(n[:])
	return b
}

func (b *macBuilder) sum() [macSize]byte {
	var out [macSize]byte
	copy(out[:], b.h.Sum(nil))
	return out
}

// clientMAC proves that the client holds the run key: it covers the server's
// fresh nonce (so it cannot be replayed) and everything the client asks for.
func clientMAC(key []byte, h *clientHello, serverNonce [nonceSize]byte) [macSize]byte {
	return newMAC(key, roleClient).bytes(serverNonce[:]).bytes(h.Nonce[:]).
		str(h.Run).str(h.Channel).u64(uint64(h.Offset)).u64(uint64(h.Flags)).sum()
}

// serverMAC proves that the server holds the run key, over the client's
// fresh nonce.
func serverMAC(key []byte, h *clientHello, serverNonce [nonceSize]byte) [macSize]byte {
	return newMAC(key, roleServer).bytes(h.Nonce[:]).bytes(serverNonce[:]).
		str(h.Run).str(h.Channel).u64(uint64(h.Offset)).sum()
}

// endMAC authenticates the final frame: the total size in bytes and the
// SHA-256 of the whole stream, bound to this connection's nonces.
func endMAC(key []byte, serverNonce, clientNonce [nonceSize]byte, size int64, sum [sha256.Size]byte) [macSize]byte {
	return newMAC(key, roleEnd).bytes(serverNonce[:]).bytes(clientNonce[:]).u64(uint64(size)).bytes(sum[:]).sum()
}
