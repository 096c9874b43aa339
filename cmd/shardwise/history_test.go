package main

import (
	"encoding/json"
	"path/filepath"
	"strings"
	"testing"

	"github.com/shardwise/shardwise/app"
	"github.com/shardwise/shardwise/feedback"
	"github.com/shardwise/shardwise/planner/history"
)

func TestHistoryImportAndReport(t *testing.T) {
	dir := t.TempDir()
	jsonl, db := filepath.Join(dir, "history.jsonl"), filepath.Join(dir, "history.db")
	recs := []history.Record{
		{Task: "a", Signature: "align", Executor: "cpu-heavy", RuntimeSeconds: 110, PredictedRuntimeSeconds: 100,
			MemoryBytes: 100 << 20, PredictedMemoryBytes: 200 << 20, Source: "wfcommons:x"},
		{Task: "b", Signature: "align", Executor: "cpu-heavy", RuntimeSeconds: 90, PredictedRuntimeSeconds: 100,
			MemoryBytes: 100 << 20, PredictedMemoryBytes: 200 << 20, Source: "wfcommons:x"},
	}
	if err := history.Write(jsonl, recs); err != nil {
		t.Fatal(err)
	}
	for range 2 { // importing twice writes no duplicates
		out, stderr, code := runCLI("history", "import", "-history-db", db, jsonl)
		if code != 0 || !strings.Contains(out, "(2 in the store)") {
			t.Fatalf("import: exit %d, %q %q", code, out, stderr)
		}
	}
	out, stderr, code := runCLI("history", "report", "-history", db)
	if code != 0 || !strings.Contains(out, "align") || !strings.Contains(out, "10.1%") || !strings.Contains(out, "2.00x") {
		t.Fatalf("report: exit %d\n%s%s", code, out, stderr)
	}
	out, _, code = runCLI("history", "report", "-format", "json", "-history", db)
	var rows []feedback.Accuracy
	if code != 0 || json.Unmarshal([]byte(out), &rows) != nil || len(rows) != 1 || rows[0].RuntimeN != 2 {
		t.Fatalf("json report: exit %d %s", code, out)
	}
	// plan -history reads the store too.
	if got, err := app.LoadHistory([]string{db}); err != nil || len(got) != 2 {
		t.Fatalf("app.LoadHistory(.db) = %d records, %v", len(got), err)
	}
}

func TestHistoryAndFeedbackUsageErrors(t *testing.T) {
	for _, c := range []struct {
		args []string
		want string
	}{
		{[]string{"history"}, "report or import"},
		{[]string{"history", "reprot", "-history", "h.db"}, `unknown history subcommand "reprot": want report or import`},
		{[]string{"history", "report"}, "-history PATH"},
		{[]string{"history", "report", "-format", "xml", "x.db"}, "invalid -format"},
		{[]string{"history", "import", "x.jsonl"}, "-history-db"},
		{[]string{"feedback", "extra"}, "takes no arguments"},
		{[]string{"feedback", "-interval", "0s"}, "invalid -interval"},
	} {
		_, stderr, code := runCLI(c.args...)
		if code != 2 || !strings.Contains(stderr, c.want) {
			t.Errorf("shardwise %v: exit %d, stderr %q; want 2 and %q", c.args, code, stderr, c.want)
		}
	}
	if _, stderr, code := runCLI("history", "report", "-history", filepath.Join(t.TempDir(), "none.db")); code != 1 || !strings.Contains(stderr, "no such file") {
		t.Errorf("missing store: exit %d, %q", code, stderr)
	}
}
