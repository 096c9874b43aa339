package plan

import (
	"encoding/json"
	"strings"
	"testing"

	"github.com/shardwise/shardwise/planner/predict"
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

// TestSourceJSON checks that an estimate's source reads and writes as the
// words the schema names ("" for no source), that any other word is an
// error naming it, and that SourceOf maps the predictor's sources.
func TestSourceJSON(t *testing.T) {
	for _, c := range []struct {
		src  Source
		pred predict.Source
		json string
	}{{SourceUnknown, "", `""`}, {SourceHistory, predict.FromHistory, `"history"`},
		{SourceHint, predict.FromHint, `"hint"`}, {SourceDefault, predict.FromDefault, `"default"`}} {
		out, err := json.Marshal(c.src)
		if err != nil || string(out) != c.json {
			t.Errorf("Marshal(%d) = %s, %v; want %s", c.src, out, err, c.json)
		}
		var back Source = 9
		if err := json.Unmarshal([]byte(c.json), &back); err != nil || back != c.src {
			t.Errorf("Unmarshal(%s) = %d, %v; want %d", c.json, back, err, c.src)
		}
		if got := SourceOf(c.pred); got != c.src {
			t.Errorf("SourceOf(%q) = %v, want %v", c.pred, got, c.src)
		}
	}
	var e Estimate
	err := json.Unmarshal([]byte(`{"value":1,"source":"guess"}`), &e)
	if err == nil || !strings.Contains(err.Error(), `"guess"`) {
		t.Errorf("unknown source: err = %v, want one naming \"guess\"", err)
	}
}
