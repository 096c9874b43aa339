package sdk

import (
	"reflect"
	"strings"
	"testing"
)

func TestTaskManifestRoundTrip(t *testing.T) {
	m := TaskManifest{{Task: "a", Signature: "sa", InputBytes: 10, SharedInputBytes: 4}, {Task: "b,c", Signature: "s+b"}}
	v := EncodeTaskManifest(m)
	if v != `[{"task":"a","signature":"sa","input_bytes":10,"shared_input_bytes":4},{"task":"b,c","signature":"s+b"}]` {
		t.Errorf("encoded %s", v)
	}
	got, err := ParseTaskManifest(v)
	if err != nil || !reflect.DeepEqual(got, m) {
		t.Fatalf("ParseTaskManifest = %+v, %v; want %+v", got, err, m)
	}
}

func TestTaskManifestErrors(t *testing.T) {
	many := "[" + strings.Repeat(`{"task":"x","signature":"s"},`, MaxTimedTasks) + `{"task":"y","signature":"s"}]`
	for value, want := range map[string]string{
		"":                               "unexpected end of JSON input",
		"null":                           "0 tasks, want 2 to 64",
		`{"task":"a"}`:                   "cannot unmarshal object",
		`[{"task":"a","signature":1}]`:   "cannot unmarshal number",
		`[{"task":"a","signature":"s"}]`: "1 tasks, want 2 to 64",
		many:                             "65 tasks, want 2 to 64",
		`[{"task":"a","signature":"s"},{"signature":"s"}]`:                                    "task 1: no task name",
		`[{"task":"a","signature":"s"},{"task":"a","signature":"s"}]`:                         `task 1: task "a" named twice`,
		`[{"task":"a"},{"task":"b","signature":"s"}]`:                                         `task 0: task "a" has no signature`,
		`[{"task":"a","signature":"s","shared_input_bytes":-1},{"task":"b","signature":"s"}]`: `task 0: task "a": negative input bytes`,
	} {
		_, err := ParseTaskManifest(value)
		if err == nil || !strings.Contains(err.Error(), want) || !strings.HasPrefix(err.Error(), "meta shardwise_tasks: ") {
			t.Errorf("ParseTaskManifest(%.60q) error %v, want one naming the meta key and %q", value, err, want)
		}
	}
}

func TestParseTaskBoundaries(t *testing.T) {
	at, err := ParseTaskBoundaries([]byte("0 100.5\n1 102.25\n2 102.25\n"), 2)
	if err != nil || !reflect.DeepEqual(at, []float64{100.5, 102.25, 102.25}) {
		t.Fatalf("ParseTaskBoundaries = %v, %v", at, err)
	}
	if _, err := ParseTaskBoundaries([]byte("0 100.5\n1 102.25\n"), 2); err == nil {
		t.Error("too few boundaries: no error")
	}
}
