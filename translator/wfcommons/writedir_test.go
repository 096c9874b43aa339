package wfcommons

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/shardwise/shardwise/internal/testutil"
	"github.com/shardwise/shardwise/planner/graph"
)

func importTiny(t *testing.T) *Result {
	t.Helper()
	res, err := Import(filepath.Join("testdata", "tiny-nextflow.json"))
	if err != nil {
		t.Fatal(err)
	}
	return res
}

func listDir(t *testing.T, dir string) []string {
	t.Helper()
	entries, err := os.ReadDir(dir)
	if err != nil {
		t.Fatal(err)
	}
	var out []string
	for _, e := range entries {
		out = append(out, e.Name())
	}
	return out
}

func TestWriteDirFiles(t *testing.T) {
	res := importTiny(t)
	dir := filepath.Join(t.TempDir(), "tiny")
	if err := WriteDir(dir, res); err != nil {
		t.Fatal(err)
	}
	if got := strings.Join(listDir(t, dir), ","); got != "NOTICE,graph.hcl,history.jsonl" {
		t.Errorf("files = %s", got)
	}
	recs := readHistory(t, filepath.Join(dir, HistoryFile))
	if len(recs) != 3 || recs[1].Task != "WF_ALIGN_2" || recs[1].Signature != "WF.ALIGN" || recs[1].MemoryBytes != 8589934592 {
		t.Errorf("history = %+v", recs)
	}
	notice, _ := os.ReadFile(filepath.Join(dir, NoticeFile))
	if !strings.Contains(string(notice), "tiny-nextflow.json") || !strings.Contains(string(notice), "No licence file") {
		t.Errorf("NOTICE = %s", notice)
	}
	hcl, _ := os.ReadFile(filepath.Join(dir, GraphFile))
	if !strings.Contains(string(hcl), "from = task.WF_PREP_1.output.data") || !strings.Contains(string(hcl), `signature = "WF.ALIGN"`) {
		t.Errorf("graph.hcl lacks the expected input or signature:\n%s", hcl)
	}
}

// TestWriteDirLicence checks the licence next to the trace is copied, and
// that traces in runs/ find the collection's licence one level up.
func TestWriteDirLicence(t *testing.T) {
	cases := []struct{ trace, licence, name string }{
		{"montage-chameleon-2mass-01d-001.json", "LICENSE-WfInstances-LGPL-3.0.md", "LGPL-3.0"},
		{"runs/blast-chameleon-small-002.json", "LICENSE-WfInstances-LGPL-3.0.md", "LGPL-3.0"},
		{"legacy-schema-1.4/bwa-chameleon-small-001.json", "LICENSE-makeflow-instances-GPL-3.0.txt", "GPL-3.0"},
	}
	for _, c := range cases {
		t.Run(c.trace, func(t *testing.T) {
			path := testutil.Trace(t, c.trace)
			res, err := Import(path)
			if err != nil {
				t.Fatal(err)
			}
			dir := filepath.Join(t.TempDir(), "out")
			if err := WriteDir(dir, res); err != nil {
				t.Fatal(err)
			}
			want, _ := os.ReadFile(filepath.Join(filepath.Dir(path), c.licence))
			if len(want) == 0 {
				want, _ = os.ReadFile(filepath.Join(filepath.Dir(filepath.Dir(path)), c.licence))
			}
			got, err := os.ReadFile(filepath.Join(dir, c.licence))
			if err != nil || string(got) != string(want) {
				t.Fatalf("licence copy: %v (%d bytes, want %d)", err, len(got), len(want))
			}
			notice, _ := os.ReadFile(filepath.Join(dir, NoticeFile))
			if !strings.Contains(string(notice), "distributed under "+c.name+";") {
				t.Errorf("NOTICE does not name %s:\n%s", c.name, notice)
			}
		})
	}
}

func TestWriteDirAllOrNothing(t *testing.T) {
	res := importTiny(t)
	res.Graph = graph.New("empty") // hclwriter.Write fails on a graph without tasks
	parent := t.TempDir()
	dir := filepath.Join(parent, "out")
	if err := WriteDir(dir, res); err == nil || !strings.Contains(err.Error(), "no tasks") {
		t.Fatalf("WriteDir error = %v, want the graph error", err)
	}
	if left := listDir(t, parent); len(left) != 0 {
		t.Errorf("left behind after a failed write: %v", left)
	}
}

func TestWriteDirReplacesOnlyItsOwn(t *testing.T) {
	res := importTiny(t)
	parent := t.TempDir()
	dir := filepath.Join(parent, "out")
	if err := WriteDir(dir, res); err != nil {
		t.Fatal(err)
	}
	if err := WriteDir(dir, res); err != nil {
		t.Fatalf("rewriting a previous import: %v", err)
	}
	if left := listDir(t, parent); strings.Join(left, ",") != "out" {
		t.Errorf("parent holds %v, want only out", left)
	}
	foreign := filepath.Join(dir, "mine.txt")
	if err := os.WriteFile(foreign, []byte("keep"), 0o644); err != nil {
		t.Fatal(err)
	}
	err := WriteDir(dir, res)
	if err == nil || !strings.Contains(err.Error(), `"mine.txt"`) {
		t.Fatalf("WriteDir over a foreign file: error = %v", err)
	}
	if b, _ := os.ReadFile(foreign); string(b) != "keep" {
		t.Errorf("foreign file changed")
	}
	if err := WriteDir(filepath.Join(parent, "missing", "out"), res); err == nil {
		t.Errorf("WriteDir into a missing parent succeeded")
	}
}
