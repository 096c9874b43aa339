package e2e

import (
	"context"
	"net"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/hashicorp/nomad/api"

	"github.com/shardwise/shardwise/e2e/cluster"
	"github.com/shardwise/shardwise/launcher"
	"github.com/shardwise/shardwise/launcher/runstate"
)

// TestRunOfAStoredRunIDPrintsOnlyTheError: run -run ID (and run -detach)
// of an ID already stored in Nomad fails with the 'already stored' error
// alone: no "Running graph" banner, no -out file, no -feedback history
// store, no job registered.
func TestRunOfAStoredRunIDPrintsOnlyTheError(t *testing.T) {
	cl := cluster.Shared(t)
	addr := cl.NomadAddr()
	run := runID(t)
	stopRun(t, addr, run)
	dir := t.TempDir()
	graph := fixture("resume.hcl")
	p := planOf(t, run, graph, "-var", "dir="+dir)
	ctx, cancel := context.WithTimeout(context.Background(), runTimeout)
	defer cancel()
	store := &runstate.Store{Client: cl.Client()}
	if _, err := store.Create(ctx, &runstate.Spec{Plan: p}, runstate.NewLease("e2e")); err != nil {
		t.Fatal(err)
	}
	out := filepath.Join(dir, "jobs")
	db := filepath.Join(dir, "history.db")
	want := "run " + run + " is already stored in Nomad: continue it with 'shardwise run -resume " + run + "'"
	for _, extra := range [][]string{{"-out", out}, {"-feedback", "-history-db", db}, {"-detach", "-launcher-command", shardwiseBin}} {
		args := append([]string{"run", "-address", addr, "-run", run, "-var", "dir=" + dir}, extra...)
		stdout, errOut, code := cli(t, nil, append(args, graph)...)
		if code != 1 || stdout != "" || !strings.Contains(errOut, want) {
			t.Errorf("shardwise %v: exit %d, stdout %q, stderr %q; want 1, nothing on stdout, %q", args, code, stdout, errOut, want)
		}
	}
	for _, p := range []string{out, db} {
		if _, err := os.Stat(p); !os.IsNotExist(err) {
			t.Errorf("%s written (stat: %v)", p, err)
		}
	}
	jobs, err := launcher.Find(ctx, cl.Client(), run, "")
	if err != nil || len(jobs) != 0 {
		t.Errorf("jobs of run %s in Nomad: %d (%v), want none", run, len(jobs), err)
	}
}

// TestRunCommandsNameTheNamespaceAsked: status, stop, ui and run -resume
// of a run that is not in the namespace given by -namespace or
// NOMAD_NAMESPACE say which namespace they looked in (they used to say
// "namespace default").
func TestRunCommandsNameTheNamespaceAsked(t *testing.T) {
	cl := cluster.Shared(t)
	run := runID(t)
	for _, c := range []struct {
		env  []string
		args []string
	}{
		{nil, []string{"status", "-address", cl.NomadAddr(), "-namespace", "elsewhere", run}},
		{[]string{"NOMAD_NAMESPACE=elsewhere"}, []string{"status", "-address", cl.NomadAddr(), run}},
		{nil, []string{"stop", "-address", cl.NomadAddr(), "-namespace", "elsewhere", run}},
	} {
		_, errOut, code := cli(t, c.env, c.args...)
		want := "no jobs of run " + run + " in Nomad at " + cl.NomadAddr() + " (namespace elsewhere), and no stored state"
		if code != 1 || !strings.Contains(errOut, want) {
			t.Errorf("%v shardwise %v: exit %d, stderr %q; want 1 with %q", c.env, c.args, code, errOut, want)
		}
	}
	// ui and run -resume read the run's stored state from the namespace asked.
	for _, c := range []struct {
		env  []string
		args []string
	}{
		{nil, []string{"ui", "-address", cl.NomadAddr(), "-addr", "127.0.0.1:0", "-namespace", "elsewhere", run}},
		{[]string{"NOMAD_NAMESPACE=elsewhere"}, []string{"ui", "-address", cl.NomadAddr(), "-addr", "127.0.0.1:0", run}},
		{nil, []string{"run", "-address", cl.NomadAddr(), "-namespace", "elsewhere", "-resume", run}},
		{[]string{"NOMAD_NAMESPACE=elsewhere"}, []string{"run", "-address", cl.NomadAddr(), "-resume", run}},
	} {
		_, errOut, code := cli(t, c.env, c.args...)
		want := "run " + run + ": no stored state in Nomad (variable shardwise/runs/" + run + ", namespace elsewhere)"
		if code != 1 || !strings.Contains(errOut, want) {
			t.Errorf("%v shardwise %v: exit %d, stderr %q; want 1 with %q", c.env, c.args, code, errOut, want)
		}
	}
}

// TestFeedbackMetricsPortInUseCreatesNoStore: feedback whose -metrics-addr
// is taken fails naming it, before it creates its history store.
func TestFeedbackMetricsPortInUseCreatesNoStore(t *testing.T) {
	cl := cluster.Shared(t)
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	db := filepath.Join(t.TempDir(), "history.db")
	_, errOut, code := cli(t, nil, "feedback", "-address", cl.NomadAddr(), "-history-db", db, "-metrics-addr", ln.Addr().String())
	want := "-metrics-addr " + ln.Addr().String() + ": cannot serve metrics"
	if code != 1 || !strings.Contains(errOut, want) {
		t.Errorf("exit %d, stderr %q; want 1 with %q", code, errOut, want)
	}
	if left, _ := filepath.Glob(db + "*"); len(left) != 0 {
		t.Errorf("history store created: %v", left)
	}
}

// TestRunInAMissingNamespaceStoresNothing: run with -namespace or
// NOMAD_NAMESPACE naming a namespace Nomad does not have fails before
// anything is stored or registered, naming the namespace. Nomad validates
// jobs and writes variables in a namespace that does not exist, and
// refuses only the registration: the run used to be stored there, listed
// by 'shardwise list', and end with its first shard "skipped".
func TestRunInAMissingNamespaceStoresNothing(t *testing.T) {
	cl := cluster.Shared(t)
	addr := cl.NomadAddr()
	dir := t.TempDir()
	graph := fixture("resume.hcl")
	ns := "missing-" + runID(t)
	for i, c := range []struct {
		env  []string
		args []string
	}{
		{nil, []string{"-namespace", ns}},
		{[]string{"NOMAD_NAMESPACE=" + ns}, nil},
		{nil, []string{"-namespace", ns, "-detach", "-launcher-command", shardwiseBin}},
	} {
		run := runID(t) + "-" + string(rune('a'+i))
		args := append(append([]string{"run", "-address", addr, "-run", run, "-var", "dir=" + dir}, c.args...), graph)
		stdout, errOut, code := cli(t, c.env, args...)
		want := `namespace "` + ns + `" does not exist on the Nomad agent at ` + addr
		if code != 1 || stdout != "" || !strings.Contains(errOut, want) {
			t.Errorf("%v shardwise %v: exit %d, stdout %q, stderr %q; want 1, nothing on stdout, %q", c.env, args, code, stdout, errOut, want)
		}
		ctx, cancel := context.WithTimeout(context.Background(), runTimeout)
		vars, _, err := cl.Client().Variables().PrefixList("shardwise/runs/"+run, (&api.QueryOptions{Namespace: ns}).WithContext(ctx))
		cancel()
		if err != nil || len(vars) != 0 {
			t.Errorf("run %s: %d variables stored in namespace %s (%v), want none", run, len(vars), ns, err)
		}
	}
}
