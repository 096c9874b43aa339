package e2e

import (
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"

	"github.com/hashicorp/nomad/api"

	"github.com/shardwise/shardwise/e2e/cluster"
)

// TestShardLostOutputRunsProducerAgain deletes gen's channel data from
// the io-bound plugin's store after gen completed and before use fetches
// it: use's fetch from gen's allocation finds the data gone, and
// `shardwise run -fail-fast -retries 0` runs gen again (a second
// allocation), registers use again naming it, and completes, saying so in
// the summary. Without the launcher's re-run the run would fail (no
// retries).
func TestShardLostOutputRunsProducerAgain(t *testing.T) {
	cl := cluster.Shared(t)
	requireShardDriver(t, cl)
	c := cl.Client()
	run := runID(t)
	marker := "swlost-" + run
	graph := fixture("shard-lost-output.hcl")
	p := planOf(t, run, graph, "-no-fusion", "-var", "marker="+marker)
	stopRun(t, cl.NomadAddr(), run)

	r := startCLI(t, "run", "-address", cl.NomadAddr(), "-run", run, "-driver", "shard", "-no-fusion",
		"-fail-fast", "-retries", "0", "-var", "marker="+marker, graph)
	pid := waitMarkerProcess(t, r, marker)
	holdDir, err := os.Readlink(filepath.Join("/proc", strconv.Itoa(pid), "cwd"))
	if err != nil {
		t.Fatal(err)
	}
	gen := jobOf(p, "s001-gen")
	firstGen := ""
	waitUntil(t, shardWait, "gen to complete", func() (bool, string) {
		stubs, _, err := c.Jobs().Allocations(gen, true, nil)
		if err != nil || len(stubs) != 1 || stubs[0].ClientStatus != api.AllocClientStatusComplete {
			return false, "gen not complete"
		}
		firstGen = stubs[0].ID
		return true, ""
	})
	// gen's published channel: DataDir/channels/store/RUN.CHANNEL.HASH.
	store := filepath.Join(cl.Dir(), "io-bound", "shard", "channels", "store")
	dirs, err := filepath.Glob(filepath.Join(store, run+".*"))
	if err != nil || len(dirs) != 1 {
		entries, _ := os.ReadDir(store)
		t.Fatalf("gen's channel in %s: %v (%v); the store holds %v", store, dirs, err, entries)
	}
	if err := os.RemoveAll(dirs[0]); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(holdDir, "go"), nil, 0o644); err != nil {
		t.Fatal(err)
	}

	out, errOut, code := r.wait(t)
	if code != 0 || !strings.Contains(out, "3/3 complete") {
		t.Fatalf("run exit %d, want 0 with 3/3 complete\nstdout:\n%s\nstderr:\n%s", code, out, errOut)
	}
	if line := "re-ran s001-gen: its outputs were lost (consumer s002-use: upstream gone)"; !strings.Contains(out, line) {
		t.Errorf("summary lacks %q\nstdout:\n%s", line, out)
	}
	stubs, _, err := c.Jobs().Allocations(gen, true, nil)
	if err != nil || len(stubs) != 2 {
		t.Fatalf("gen allocations %d (%v), want the first and the re-run's", len(stubs), err)
	}
	secondGen := ""
	for _, s := range stubs {
		if s.ID != firstGen && s.ClientStatus == api.AllocClientStatusComplete {
			secondGen = s.ID
		}
	}
	if secondGen == "" {
		t.Fatalf("no complete second allocation of gen among %d", len(stubs))
	}
	// use's first allocation failed with the tag; the last one read the
	// re-run's data.
	useStubs, _, err := c.Jobs().Allocations(jobOf(p, "s002-use"), true, nil)
	if err != nil || len(useStubs) < 2 {
		t.Fatalf("use allocations %d (%v), want the failed one and the one after the re-run", len(useStubs), err)
	}
	var tagged, read bool
	for _, s := range useStubs {
		a, _, err := c.Allocations().Info(s.ID, nil)
		if err != nil {
			t.Fatal(err)
		}
		for _, ev := range a.TaskStates["use"].Events {
			tagged = tagged || strings.Contains(ev.Message, "[shardwise-upstream-gone shard=s001-gen alloc="+firstGen+"]")
		}
		if s.ClientStatus == api.AllocClientStatusComplete {
			got := taskStdout(t, c, a, "use")
			read = got == "gen "+secondGen+"\n"
			if !read {
				t.Errorf("use read %q, want the second gen allocation %s", got, secondGen)
			}
		}
	}
	if !tagged || !read {
		t.Errorf("use: a failure tagged with gen's first allocation %v, read the re-run's output %v", tagged, read)
	}
}
