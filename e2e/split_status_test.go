package e2e

import (
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/shardwise/shardwise/e2e/cluster"
	"github.com/shardwise/shardwise/internal/testutil"
	"github.com/shardwise/shardwise/launcher"
)

// TestSplitPiecesShowOwnState runs split-pieces.hcl, one task split in
// three pieces that Nomad runs as one job of count 3: piece 0 exits at
// once, the others wait for a file the test creates. While they wait,
// `shardwise status` shows piece 0 complete and the others running, each
// with its own run time (the job's pieces once all shared the job's state
// and its longest run time); the launcher's progress counts the pieces
// apart. Once released, every piece is complete, the waiting ones with a
// longer ACTUAL than piece 0, and `status -format json` lists the job's
// pieces with their own allocations.
func TestSplitPiecesShowOwnState(t *testing.T) {
	cl := cluster.Shared(t)
	addr := cl.NomadAddr()
	run := runID(t)
	dir := t.TempDir()
	graph := fixture("split-pieces.hcl")
	p := planOf(t, run, graph, "-var", "dir="+dir)
	stopRun(t, addr, run)
	pieces := make([]string, 3) // shard IDs by piece index
	for _, s := range p.Shards {
		if s.Split == nil || s.Split.Count != 3 {
			t.Fatalf("shard %s is not one of three pieces: %+v", s.ID, s.Split)
		}
		pieces[s.Split.Index] = s.ID
	}
	if len(p.Shards) != 3 {
		t.Fatalf("plan has %d shards, want 3 pieces", len(p.Shards))
	}

	r := startLive(t, "run", "-address", addr, "-run", run, "-var", "dir="+dir, graph)
	r.until(t, 3*time.Minute, pieces[0]+"  complete on", "1/3 complete")

	// Wait (no time limit but a generous one) until status shows the
	// pieces apart: 0 complete, 1 and 2 running for over a second longer
	// than piece 0 ran.
	var doc launcher.StatusDoc
	testutil.Eventually(t, 3*time.Minute, time.Second, "status to show each piece's own state and run time", func() (bool, string) {
		out, errOut, code := cli(t, nil, "status", "-address", addr, "-format", "json", run)
		if code != 0 {
			return false, fmt.Sprintf("status exit %d: %s", code, errOut)
		}
		doc = launcher.StatusDoc{}
		if err := json.Unmarshal([]byte(out), &doc); err != nil {
			return false, err.Error()
		}
		got := pieceStates(doc, pieces)
		if got[0].State != "complete" || got[1].State != "running" || got[2].State != "running" {
			return false, fmt.Sprintf("pieces %+v", got)
		}
		return got[1].ActualSeconds > got[0].ActualSeconds+1 && got[2].ActualSeconds > got[0].ActualSeconds+1,
			fmt.Sprintf("pieces %+v", got)
	})
	out, errOut, code := cli(t, nil, "status", "-address", addr, run)
	if code != 0 {
		t.Fatalf("status exit %d\n%s\n%s", code, out, errOut)
	}
	t.Logf("status while pieces 1 and 2 wait:\n%s", out)
	if !strings.Contains(out, "1 complete, 2 running, 0 queued") {
		t.Errorf("status counts the pieces wrong:\n%s", out)
	}
	rows := statusRows(t, out, pieces)
	for i, want := range []string{"complete", "running", "running"} {
		if rows[i][3] != want {
			t.Errorf("status row of piece %d (%s) says %q, want %q:\n%s", i, pieces[i], rows[i][3], want, out)
		}
	}
	if rows[0][6] == rows[1][6] && rows[0][6] == rows[2][6] {
		t.Errorf("every piece shows the same ACTUAL %s:\n%s", rows[0][6], out)
	}

	if err := os.WriteFile(filepath.Join(dir, "release"), nil, 0o644); err != nil {
		t.Fatal(err)
	}
	r.until(t, 3*time.Minute, "run "+run+" ended:", "3/3 complete")
	for range r.lines {
	}
	<-r.done
	if code := r.cmd.ProcessState.ExitCode(); code != 0 {
		t.Fatalf("run exit %d\n%s\nstderr:\n%s", code, r.output(), &r.stderr)
	}
	out, errOut, code = cli(t, nil, "status", "-address", addr, "-format", "json", run)
	if code != 0 {
		t.Fatalf("status exit %d\n%s", code, errOut)
	}
	doc = launcher.StatusDoc{}
	if err := json.Unmarshal([]byte(out), &doc); err != nil {
		t.Fatal(err)
	}
	got := pieceStates(doc, pieces)
	for i, g := range got {
		if g.State != "complete" || g.ActualSeconds <= 0 {
			t.Errorf("after the run, piece %d: %+v, want complete with a run time", i, g)
		}
	}
	if !(got[1].ActualSeconds > got[0].ActualSeconds && got[2].ActualSeconds > got[0].ActualSeconds) {
		t.Errorf("after the run, the waiting pieces' run times %.1fs and %.1fs are not above piece 0's %.1fs",
			got[1].ActualSeconds, got[2].ActualSeconds, got[0].ActualSeconds)
	}
	// The job list gives the split job's pieces too, each with its own
	// allocation.
	if len(doc.Jobs) != 1 || len(doc.Jobs[0].Pieces) != 3 {
		t.Fatalf("after the run, jobs %+v: want one job of three pieces", doc.Jobs)
	}
	allocs := map[string]bool{}
	for i, pc := range doc.Jobs[0].Pieces {
		if pc.Index != i || pc.State != "complete" || pc.Allocation == "" || pc.Node == "" || pc.ActualSeconds != got[i].ActualSeconds {
			t.Errorf("after the run, job piece %d: %+v, want index %d complete on a node with piece %d's run time %.1fs", i, pc, i, i, got[i].ActualSeconds)
		}
		allocs[pc.Allocation] = true
	}
	if len(allocs) != 3 {
		t.Errorf("the pieces share allocations: %+v", doc.Jobs[0].Pieces)
	}
}

// pieceStates returns the status document's shards with the IDs ids, in
// that order.
func pieceStates(doc launcher.StatusDoc, ids []string) []launcher.StatusShard {
	out := make([]launcher.StatusShard, len(ids))
	for _, s := range doc.Shards {
		for i, id := range ids {
			if s.Shard == id {
				out[i] = s
			}
		}
	}
	return out
}

// statusRows returns the fields of the rows of `status`'s shard table
// for the shards ids, in that order: SHARD JOB CLASS STATE ATTEMPTS
// PREDICTED ACTUAL NODE.
func statusRows(t *testing.T, out string, ids []string) [][]string {
	t.Helper()
	rows := make([][]string, len(ids))
	for _, l := range strings.Split(out, "\n") {
		f := strings.Fields(l)
		for i, id := range ids {
			if len(f) == 8 && f[0] == id {
				rows[i] = f
			}
		}
	}
	for i, r := range rows {
		if r == nil {
			t.Fatalf("status has no row for %s:\n%s", ids[i], out)
		}
	}
	return rows
}
