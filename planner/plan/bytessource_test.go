package plan

import (
	"encoding/json"
	"strings"
	"testing"
)

// TestBytesSourceJSON checks that a channel's bytes_source reads and
// writes as the words the schema names ("" for no source), and that any
// other word is an error naming it.
func TestBytesSourceJSON(t *testing.T) {
	for _, c := range []struct {
		src  BytesSource
		json string
	}{{BytesUnknown, `""`}, {BytesDeclared, `"declared"`}, {BytesPredicted, `"predicted"`}} {
		out, err := json.Marshal(c.src)
		if err != nil || string(out) != c.json {
			t.Errorf("Marshal(%d) = %s, %v; want %s", c.src, out, err, c.json)
		}
		var back BytesSource = 7
		if err := json.Unmarshal([]byte(c.json), &back); err != nil || back != c.src {
			t.Errorf("Unmarshal(%s) = %d, %v; want %d", c.json, back, err, c.src)
		}
	}
	var ch Channel
	err := json.Unmarshal([]byte(`{"id":"c0","bytes_source":"guessed"}`), &ch)
	if err == nil || !strings.Contains(err.Error(), `"guessed"`) {
		t.Errorf("unknown bytes_source: err = %v, want one naming \"guessed\"", err)
	}
}
