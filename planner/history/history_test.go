package history

import (
	"errors"
	"io/fs"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
	"time"
)

func sample() []Record {
	t0 := time.Date(2025, 3, 1, 12, 0, 0, 0, time.UTC)
	return []Record{
		{Task: "align-1", Signature: "align", Executor: "cpu-heavy", Start: t0, End: t0.Add(90 * time.Second),
			RuntimeSeconds: 90, Cores: 4, MemoryBytes: 2 << 30, ReadBytes: 1e9, WriteBytes: 2e8, InputBytes: 1e9, Source: "nomad"},
		{Task: "sort-1", Signature: "sort", RuntimeSeconds: 12.5, CPUPercent: 180, OutputBytes: 5e8, Source: "wfcommons:x.json"},
		{Task: "align-2", Signature: "align", RuntimeSeconds: 3, ExitCode: 137, OOMKilled: true, MemoryBytes: 4 << 30},
	}
}

func TestWriteLoadRoundTrip(t *testing.T) {
	path := filepath.Join(t.TempDir(), "history.jsonl")
	want := sample()
	if err := Write(path, want); err != nil {
		t.Fatal(err)
	}
	got, err := Load(path)
	if err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(got, want) {
		t.Fatalf("round trip:\n got %+v\nwant %+v", got, want)
	}
	raw, _ := os.ReadFile(path)
	if n := strings.Count(string(raw), "\n"); n != 3 {
		t.Errorf("want 3 lines, got %d:\n%s", n, raw)
	}
	if strings.Contains(string(raw), `"start"`) && strings.Contains(strings.Split(string(raw), "\n")[1], `"start"`) {
		t.Error("zero times should be omitted")
	}
}

func TestAppend(t *testing.T) {
	path := filepath.Join(t.TempDir(), "h.jsonl")
	s := sample()
	if err := Append(path, s[:1]); err != nil {
		t.Fatal(err)
	}
	// A file whose last line lacks '\n' must still append cleanly.
	raw, _ := os.ReadFile(path)
	os.WriteFile(path, []byte(strings.TrimSuffix(string(raw), "\n")), 0o644)
	if err := Append(path, s[1:]); err != nil {
		t.Fatal(err)
	}
	got, err := Load(path)
	if err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(got, s) {
		t.Fatalf("append: got %d records", len(got))
	}
	// The temporary file is ".h.jsonl<digits>" beside it (renameio).
	if left, _ := filepath.Glob(filepath.Join(filepath.Dir(path), ".h.jsonl*")); len(left) != 0 {
		t.Errorf("temporary files left: %v", left)
	}
	if st, err := os.Stat(path); err != nil || st.Mode().Perm() != 0o600 {
		t.Errorf("history file mode %v (%v), want 0600", st.Mode(), err)
	}
}

func TestWriteIsAtomicOnBadRecord(t *testing.T) {
	path := filepath.Join(t.TempDir(), "h.jsonl")
	if err := Write(path, sample()); err != nil {
		t.Fatal(err)
	}
	bad := []Record{{Task: "x", Signature: "x", RuntimeSeconds: -1}}
	if err := Append(path, bad); err == nil || !strings.Contains(err.Error(), "runtime_seconds") {
		t.Fatalf("err = %v", err)
	}
	got, err := Load(path)
	if err != nil || len(got) != 3 {
		t.Fatalf("file changed by a failed append: %d records, %v", len(got), err)
	}
}

func TestLoadErrorsNameLine(t *testing.T) {
	dir := t.TempDir()
	tests := []struct{ name, body, want string }{
		{"syntax", "{\"task\":\"a\",\"signature\":\"a\",\"runtime_seconds\":1}\n\n{\"task\": \n", "bad.jsonl:3:"},
		{"type", "{\"task\":\"a\",\"signature\":\"a\",\"runtime_seconds\":\"slow\"}\n", "bad.jsonl:1:"},
		{"no signature", "{\"task\":\"a\",\"signature\":\"a\",\"runtime_seconds\":1}\n{\"task\":\"b\",\"runtime_seconds\":1}\n", "bad.jsonl:2: record has no signature"},
		{"negative", "{\"task\":\"a\",\"signature\":\"a\",\"runtime_seconds\":1,\"memory_bytes\":-5}\n", "bad.jsonl:1: record \"a\": memory_bytes"},
		// 1e308 s once passed and failed planning with "robust guard,
		// scenario p10: ... no actual runtime", naming no file.
		{"runtime too long", "{\"task\":\"a\",\"signature\":\"a\",\"runtime_seconds\":1e308}\n", "bad.jsonl:1: record \"a\": runtime_seconds = 1e+308, longer than a duration holds (about 292 years)"},
		{"predicted runtime too long", "{\"task\":\"a\",\"signature\":\"a\",\"runtime_seconds\":1,\"predicted_runtime_seconds\":1e10}\n", "bad.jsonl:1: record \"a\": predicted_runtime_seconds = 1e+10, longer than a duration holds"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			path := filepath.Join(dir, "bad.jsonl")
			os.WriteFile(path, []byte(tt.body), 0o644)
			_, err := Load(path)
			if err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Fatalf("err = %v, want it to contain %q", err, tt.want)
			}
		})
	}
	missing := filepath.Join(dir, "missing.jsonl")
	_, err := Load(missing)
	if !errors.Is(err, fs.ErrNotExist) {
		t.Errorf("missing file: %v", err)
	}
	if want := "read history " + missing + ": no such file or directory"; err == nil || err.Error() != want {
		t.Errorf("missing file: err = %v, want %q", err, want)
	}
}

func TestLoadErrorsInUserTerms(t *testing.T) {
	tests := []struct{ name, body, want string }{
		{"string for number", "{\"task\":\"a\",\"signature\":\"a\",\"runtime_seconds\":1}\n{\"task\":\"a\",\"signature\":\"a\",\"runtime_seconds\":\"slow\"}\n",
			`h3.jsonl:2: field "runtime_seconds": want a number, got a string`},
		{"fraction for integer", "{\"task\":\"a\",\"signature\":\"a\",\"memory_bytes\":1.5}\n",
			`h3.jsonl:1: field "memory_bytes": want a whole number, got 1.5`},
		{"not an object", "[1]\n", `h3.jsonl:1: want a JSON object, got an array`},
		{"syntax column", "{\"x\n", `h3.jsonl:1:`},
		{"syntax", "{\"a\" 1}\n", `h3.jsonl:1:6: invalid character '1' after object key`},
		{"syntax after blanks", "  {\"a\" 1}\n", `h3.jsonl:1:8: invalid character '1' after object key`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := Read(strings.NewReader(tt.body), "h3.jsonl")
			if err == nil || !strings.HasPrefix(err.Error(), tt.want) {
				t.Fatalf("err = %v, want it to start with %q", err, tt.want)
			}
			if strings.Contains(err.Error(), "json:") || strings.Contains(err.Error(), "Go struct") {
				t.Fatalf("err = %v: Go's wording leaked", err)
			}
		})
	}
}

func TestGrouping(t *testing.T) {
	s := sample()
	groups := BySignature(s)
	if len(groups) != 2 || groups[0].Signature != "align" || len(groups[0].Records) != 2 || groups[1].Signature != "sort" {
		t.Fatalf("groups = %+v", groups)
	}
	if ok := Successful(s); len(ok) != 2 || ok[1].Task != "sort-1" {
		t.Errorf("Successful = %+v", ok)
	}
	if got := Signatures(s); !reflect.DeepEqual(got, []string{"align", "sort"}) {
		t.Errorf("Signatures = %v", got)
	}
	if s[1].CoresUsed() != 1.8 || s[0].CoresUsed() != 4 {
		t.Errorf("CoresUsed = %g, %g", s[1].CoresUsed(), s[0].CoresUsed())
	}
	if s[0].IOBytes() != 1.2e9 || s[0].ProducedBytes() != 2e8 || s[1].ProducedBytes() != 5e8 {
		t.Error("IOBytes/ProducedBytes")
	}
}

func TestFillConcurrency(t *testing.T) {
	at := func(s int) time.Time { return time.Unix(int64(s), 0) }
	recs := []Record{
		{Task: "a", Node: "n1", Start: at(0), End: at(10)},
		{Task: "b", Node: "n1", Start: at(5), End: at(15)},
		{Task: "c", Node: "n1", Start: at(10), End: at(20)}, // touches a's end: no overlap
		{Task: "d", Node: "n2", Start: at(0), End: at(30)},
		{Task: "e", Node: "", Start: at(0), End: at(30)},
	}
	FillConcurrency(recs)
	for i, want := range []int{1, 2, 1, 0, 0} {
		if recs[i].Concurrency != want {
			t.Errorf("%s: concurrency %d, want %d", recs[i].Task, recs[i].Concurrency, want)
		}
	}
}

// A write whose final rename fails (the path is a directory) reports it
// and leaves no temporary file beside it.
func TestWriteFailedRenameLeavesNoTemp(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "h.jsonl")
	if err := os.Mkdir(path, 0o755); err != nil {
		t.Fatal(err)
	}
	if err := Write(path, sample()); err == nil || !strings.Contains(err.Error(), "write history "+path) {
		t.Fatalf("Write over a directory: err = %v, want one naming %s", err, path)
	}
	if left, _ := filepath.Glob(filepath.Join(dir, ".h.jsonl*")); len(left) != 0 {
		t.Errorf("temporary files left: %v", left)
	}
}
