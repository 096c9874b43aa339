package main

import (
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/shardwise/shardwise/app"
	"github.com/shardwise/shardwise/launcher"
	"github.com/shardwise/shardwise/planner/units"
)

const etlGraph = "../../examples/nightly-etl/graph.hcl"

func closedAddr(t *testing.T) string {
	t.Helper()
	srv := httptest.NewServer(nil)
	addr := srv.URL
	srv.Close()
	return addr
}

// TestFeedbackFailsAtOnceWhenUnreachable: feedback takes the Nomad CLI's
// flags and, like run, fails at start-up with one line naming the address.
func TestFeedbackFailsAtOnceWhenUnreachable(t *testing.T) {
	addr := closedAddr(t)
	db := filepath.Join(t.TempDir(), "h.db")
	start := time.Now()
	_, stderr, code := runCLI("feedback", "-address", addr, "-token", "secret", "-region", "global",
		"-namespace", "prod", "-tls-skip-verify", "-history-db", db, "-metrics-addr", "")
	if code != 1 {
		t.Fatalf("exit %d, want 1; stderr %q", code, stderr)
	}
	if time.Since(start) > 20*time.Second {
		t.Errorf("took %s to fail", time.Since(start))
	}
	want := "Error: cannot reach the Nomad agent at " + addr + ": connection refused"
	if !strings.HasPrefix(stderr, want) || strings.Count(stderr, "\n") != 1 || strings.Contains(stderr, "WARN") {
		t.Errorf("stderr %q, want one line starting %q", stderr, want)
	}
}

func TestFeedbackNamespaceDefaultsToAll(t *testing.T) {
	t.Setenv("NOMAD_NAMESPACE", "")
	var f app.FeedbackRequest
	var nf launcher.NomadFlags
	fs := newFlagSet("feedback", "", os.Stderr)
	fs.StringVar(&f.DB, "history-db", "", "")
	nf.Register(fs)
	fs.Parse(nil)
	if ns := followNamespace(fs); ns != "*" {
		t.Errorf("namespace %q, want *", ns)
	}
	t.Setenv("NOMAD_NAMESPACE", "ops")
	if ns := followNamespace(fs); ns != "ops" {
		t.Errorf("namespace %q, want ops (NOMAD_NAMESPACE)", ns)
	}
	fs.Parse([]string{"-namespace", "prod"})
	if ns := followNamespace(fs); ns != "prod" {
		t.Errorf("namespace %q, want prod (-namespace)", ns)
	}
}

func TestFlagErrorPrintedOnce(t *testing.T) {
	_, stderr, code := runCLI("plan", "-bogus", "x.hcl")
	if code != 2 || strings.Count(stderr, "flag provided but not defined: -bogus") != 1 {
		t.Errorf("exit %d, stderr %q: want exit 2 and the error once", code, stderr)
	}
	if !strings.HasPrefix(stderr, "Error: flag provided") || !strings.Contains(stderr, "Usage: shardwise plan") {
		t.Errorf("stderr %q: want the error, then the usage", stderr)
	}
}

func TestPlanDriverCheckedBeforeGraph(t *testing.T) {
	_, stderr, code := runCLI("plan", "-driver", "docker", "no-such-graph.hcl")
	if code != 2 || !strings.Contains(stderr, `invalid -driver "docker"`) {
		t.Errorf("exit %d, stderr %q: want a usage error about -driver", code, stderr)
	}
}

// TestPlanDotModeFollowsUmask: -dot files get the mode os.Create gives.
func TestPlanDotModeFollowsUmask(t *testing.T) {
	dir := t.TempDir()
	ref, err := os.Create(filepath.Join(dir, "ref"))
	if err != nil {
		t.Fatal(err)
	}
	ref.Close()
	dot := filepath.Join(dir, "plan.dot")
	if _, stderr, code := runCLI("plan", "-run", "r1", "-dot", dot, etlGraph); code != 0 {
		t.Fatalf("exit %d: %s", code, stderr)
	}
	want, _ := os.Stat(filepath.Join(dir, "ref"))
	got, err := os.Stat(dot)
	if err != nil || got.Mode().Perm() != want.Mode().Perm() {
		t.Errorf("dot mode %v (%v), want %v", got.Mode().Perm(), err, want.Mode().Perm())
	}
}

func TestHistoryAndCatalogErrorsNameTheFileOnce(t *testing.T) {
	dir := t.TempDir()
	h3 := filepath.Join(dir, "h3.jsonl")
	os.WriteFile(h3, []byte(`{"task":"a","signature":"a","runtime_seconds":1}`+"\n"+`{"task":"a","signature":"a","runtime_seconds":"x"}`+"\n"), 0o644)
	missing := filepath.Join(dir, "missing.jsonl")
	nocat := filepath.Join(dir, "nocat.hcl")
	cases := []struct {
		args []string
		want string
	}{
		{[]string{"plan", "-history", h3, etlGraph}, "Error: " + h3 + `:2: field "runtime_seconds": want a number, got a string` + "\n"},
		{[]string{"plan", "-history", missing, etlGraph}, "Error: read history " + missing + ": no such file or directory\n"},
		{[]string{"history", "report", "-history", missing}, "Error: read history " + missing + ": no such file or directory\n"},
		{[]string{"plan", "-catalog", nocat, etlGraph}, "  read " + nocat + ": no such file or directory\n"},
	}
	for _, c := range cases {
		_, stderr, code := runCLI(c.args...)
		if code != 1 || !strings.Contains(stderr, c.want) {
			t.Errorf("shardwise %v: exit %d, stderr %q; want exit 1 with %q", c.args, code, stderr, c.want)
		}
	}
}

func TestPlanWarnsOnceAboutUnknownExecutorClass(t *testing.T) {
	h := filepath.Join(t.TempDir(), "h.jsonl")
	rec := `{"task":"a","signature":"extract","runtime_seconds":5,"executor":"quantum"}` + "\n"
	os.WriteFile(h, []byte(rec+rec+rec), 0o644)
	_, stderr, code := runCLI("plan", "-run", "r1", "-history", h, etlGraph)
	if code != 0 {
		t.Fatalf("exit %d: %s", code, stderr)
	}
	if strings.Count(stderr, `"quantum"`) != 1 || !strings.Contains(stderr, "[WARN]") || !strings.Contains(stderr, "records=3") {
		t.Errorf("stderr %q: want one warning naming quantum with records=3", stderr)
	}
}

func TestPlanOutWarnsAboutOtherRunsJobs(t *testing.T) {
	out := filepath.Join(t.TempDir(), "jobs")
	if _, stderr, code := runCLI("plan", "-run", "r1", "-out", out, etlGraph); code != 0 {
		t.Fatalf("exit %d: %s", code, stderr)
	}
	_, stderr, code := runCLI("plan", "-run", "r1", "-out", out, etlGraph)
	if code != 0 || strings.Contains(stderr, "other runs") {
		t.Fatalf("same run again: exit %d, stderr %q", code, stderr)
	}
	files, _ := filepath.Glob(filepath.Join(out, "*"))
	_, stderr, code = runCLI("plan", "-run", "r2", "-out", out, etlGraph)
	if code != 0 || !strings.Contains(stderr, "other runs") || !strings.Contains(stderr, "runs=r1") ||
		!strings.Contains(stderr, units.Count(len(files), "job file")) {
		t.Errorf("exit %d, stderr %q: want a warning about %d job files of run r1", code, stderr, len(files))
	}
	for _, f := range files {
		if _, err := os.Stat(f); err != nil {
			t.Errorf("user file %s removed: %v", f, err)
		}
	}
}
