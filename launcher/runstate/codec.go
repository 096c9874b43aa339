package runstate

import (
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"fmt"

	"github.com/klauspost/compress/zstd"
)

// ChunkBytes is the most base64 text one variable holds. Nomad refuses a
// variable whose items exceed 64 KiB; this leaves room for the keys.
const ChunkBytes = 60 << 10

// itemKey is the one item of every variable this package writes.
const itemKey = "zstd_b64"

var (
	encoder, _ = zstd.NewWriter(nil, zstd.WithEncoderLevel(zstd.SpeedBetterCompression))
	decoder, _ = zstd.NewReader(nil, zstd.WithDecoderMaxMemory(256<<20))
)

// encode returns v as compressed, base64-encoded JSON.
func encode(v any) (string, error) {
	raw, err := json.Marshal(v)
	if err != nil {
		return "", err
	}
	return base64.StdEncoding.EncodeToString(encoder.EncodeAll(raw, nil)), nil
}

// decode reverses encode into v.
func decode(text string, v any) error {
	z, err := base64.StdEncoding.DecodeString(text)
	if err != nil {
		return fmt.Errorf("%w: not base64: %v", ErrCorrupt, err)
	}
	raw, err := decoder.DecodeAll(z, nil)
	if err != nil {
		return fmt.Errorf("%w: not zstd: %v", ErrCorrupt, err)
	}
	if err := json.Unmarshal(raw, v); err != nil {
		return fmt.Errorf("%w: not the expected JSON: %v", ErrCorrupt, err)
	}
	return nil
}

// split cuts text into chunks of at most ChunkBytes.
func split(text string) []string {
	var out []string
	for len(text) > ChunkBytes {
		out = append(out, text[:ChunkBytes])
		text = text[ChunkBytes:]
	}
	return append(out, text)
}

// digest is the hex SHA-256 of text.
func digest(text string) string {
	s := sha256.Sum256([]byte(text))
	return hex.EncodeToString(s[:])
}
