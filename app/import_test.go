package app

import (
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// TestImportReplay: Import loads the catalog only for a replay import; a
// catalog with errors is a *DiagnosticsError and writes nothing, a replay
// import on the default catalog writes tasks that emulate their run, and
// the records also go into the history store.
func TestImportReplay(t *testing.T) {
	trace := filepath.Join("..", "translator", "wfcommons", "testdata", "tiny-nextflow.json")
	dir := t.TempDir()
	bad := filepath.Join(dir, "bad.hcl")
	if err := os.WriteFile(bad, []byte("executor \"x\" {\n  nonsense = \n"), 0o644); err != nil {
		t.Fatal(err)
	}
	out := filepath.Join(dir, "out")
	var de *DiagnosticsError
	if _, err := Import(ImportRequest{Trace: trace, Out: out, TimeScale: 1, Replay: true, Catalog: bad}); !errors.As(err, &de) {
		t.Fatalf("bad catalog: err %v, want a *DiagnosticsError", err)
	}
	if _, err := os.Stat(out); !errors.Is(err, os.ErrNotExist) {
		t.Fatalf("bad catalog: %s written (%v)", out, err)
	}
	// Without -replay the catalog is not read.
	if _, err := Import(ImportRequest{Trace: trace, Out: filepath.Join(dir, "plain"), TimeScale: 1, Catalog: bad}); err != nil {
		t.Fatalf("plain import with an unread bad catalog: %v", err)
	}
	db := filepath.Join(dir, "history.db")
	res, err := Import(ImportRequest{Trace: trace, Out: out, DB: db, TimeScale: 0.5, Replay: true})
	if err != nil {
		t.Fatal(err)
	}
	hcl, err := os.ReadFile(filepath.Join(out, "graph.hcl"))
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(string(hcl), "SHARDWISE_REPLAY_NODE_CLASS") {
		t.Errorf("replay import: graph.hcl has no replay command:\n%s", hcl)
	}
	recs, err := LoadHistory([]string{db})
	if err != nil {
		t.Fatal(err)
	}
	if len(recs) == 0 || len(recs) != len(res.Records) {
		t.Errorf("store holds %d records, import made %d", len(recs), len(res.Records))
	}
}
