package e2e

import (
	"encoding/json"
	"path/filepath"
	"testing"

	"github.com/shardwise/shardwise/planner/plan"
)

// TestImportIntoHistoryStore imports one trace twice into the SQLite
// history store the feedback service writes, and plans from it: the store
// holds each record once, and the plan's predictions come from history.
func TestImportIntoHistoryStore(t *testing.T) {
	trace := filepath.Join(tracesDir(t), "blast-chameleon-small-001.json")
	dir := t.TempDir()
	db := filepath.Join(dir, "history.db")
	for _, out := range []string{"a", "b"} {
		if _, errOut, code := shardwise(t, "import", "wfcommons", "-out", filepath.Join(dir, out), "-history-db", db, trace); code != 0 {
			t.Fatalf("import exit %d: %s", code, errOut)
		}
	}
	report, errOut, code := shardwise(t, "history", "report", "-format", "json", "-history", db)
	if code != 0 {
		t.Fatalf("history report exit %d: %s", code, errOut)
	}
	var rows []struct {
		Signature string `json:"signature"`
		Records   int    `json:"records"`
	}
	if err := json.Unmarshal([]byte(report), &rows); err != nil {
		t.Fatalf("report JSON: %v\n%s", err, report)
	}
	total := 0
	for _, r := range rows {
		total += r.Records
	}
	if total != 43 {
		t.Errorf("store holds %d records after importing a 43-task trace twice, want 43", total)
	}
	out, errOut, code := shardwise(t, "plan", "-run", "h1", "-format", "json", "-history", db, filepath.Join(dir, "a", "graph.hcl"))
	if code != 0 {
		t.Fatalf("plan exit %d: %s", code, errOut)
	}
	var p plan.Plan
	if err := json.Unmarshal([]byte(out), &p); err != nil {
		t.Fatal(err)
	}
	for _, s := range p.Shards {
		if s.RuntimeSeconds.Source != plan.SourceHistory {
			t.Errorf("shard %s: runtime from %q, want history", s.ID, s.RuntimeSeconds.Source)
		}
	}
}
