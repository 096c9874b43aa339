package e2e

import (
	"bufio"
	"bytes"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/hashicorp/nomad/api"

	"github.com/shardwise/shardwise/e2e/cluster"
	"github.com/shardwise/shardwise/planner/plan"
)

// resumeLease is the lease period of the resume tests' launchers: a
// killed launcher's run can be resumed this long after its death.
const resumeLease = "3s"

// liveRun is a `shardwise run` whose stdout lines the test reads as they
// come.
type liveRun struct {
	cmd    *exec.Cmd
	lines  chan string
	stderr bytes.Buffer
	mu     sync.Mutex
	seen   strings.Builder
	done   chan struct{}
}

// startLive starts the shardwise binary with args, streaming stdout lines.
func startLive(t *testing.T, args ...string) *liveRun {
	t.Helper()
	r := &liveRun{lines: make(chan string, 1024), done: make(chan struct{})}
	r.cmd = exec.Command(shardwiseBin, args...)
	r.cmd.Dir = repoRoot
	r.cmd.Stderr = &r.stderr
	out, err := r.cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := r.cmd.Start(); err != nil {
		t.Fatal(err)
	}
	go func() {
		sc := bufio.NewScanner(out)
		for sc.Scan() {
			r.mu.Lock()
			r.seen.WriteString(sc.Text() + "\n")
			r.mu.Unlock()
			r.lines <- sc.Text()
		}
		_, _ = io.Copy(io.Discard, out)
		close(r.lines)
		_ = r.cmd.Wait()
		close(r.done)
	}()
	t.Cleanup(func() {
		_ = r.cmd.Process.Kill()
		<-r.done
	})
	return r
}

// until reads lines until one holds every word, failing t after timeout
// or when the command exits first.
func (r *liveRun) until(t *testing.T, timeout time.Duration, words ...string) {
	t.Helper()
	deadline := time.After(timeout)
	for {
		select {
		case l, ok := <-r.lines:
			if !ok {
				t.Fatalf("shardwise exited before printing a line with %q\n%s\nstderr:\n%s", words, r.output(), &r.stderr)
			}
			if containsAll(l, words) {
				return
			}
		case <-deadline:
			t.Fatalf("no line with %q after %s\n%s", words, timeout, r.output())
		}
	}
}

func (r *liveRun) output() string {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.seen.String()
}

func containsAll(s string, words []string) bool {
	for _, w := range words {
		if !strings.Contains(s, w) {
			return false
		}
	}
	return true
}

// kill9 kills the launcher with SIGKILL, as a lost machine would.
func (r *liveRun) kill9(t *testing.T) {
	t.Helper()
	if err := r.cmd.Process.Signal(syscall.SIGKILL); err != nil {
		t.Fatal(err)
	}
	<-r.done
	t.Logf("killed the launcher (kill -9) at:\n%s", r.output())
}

// resumeRuns counts, per task of the resume fixture, the allocations
// that started it (lines in dir/TASK.runs).
func resumeRuns(t *testing.T, dir string) map[string]int {
	t.Helper()
	out := map[string]int{}
	for _, task := range []string{"a", "b", "c", "d", "e"} {
		b, err := os.ReadFile(filepath.Join(dir, task+".runs"))
		if err != nil && !os.IsNotExist(err) {
			t.Fatal(err)
		}
		out[task] = strings.Count(string(b), "\n")
	}
	return out
}

// checkRegistrations checks that each job of the resume fixture's plan p
// was registered as often as in a run without a launcher's death: once,
// and b twice (its first attempt fails by design). Each registration is
// a new Nomad job version, since its shardwise_attempt meta differs.
func checkRegistrations(t *testing.T, c *api.Client, p *plan.Plan) {
	t.Helper()
	for _, s := range p.Shards {
		vs, _, _, err := c.Jobs().Versions(s.Job, false, nil)
		if err != nil {
			t.Fatalf("versions of %s: %v", s.Job, err)
		}
		want := 1
		if strings.HasSuffix(s.ID, "-b") {
			want = 2
		}
		if len(vs) != want {
			t.Errorf("job %s registered %d times, want %d", s.Job, len(vs), want)
		}
	}
}

// TestResumeAfterKill kills `shardwise run` with SIGKILL at three moments
// of a run (as the wave after the first shard is submitted; while shards
// run; while a failed shard's retry is pending, the launcher frozen
// when the failure happens), checks that `status` reports the run as
// left with no launcher and exits 1, then resumes it with `run -resume`:
// the graph completes, every task ran exactly as often as in a run
// without a kill (once, and b twice: its first attempt fails by design),
// every job was registered as often, and the summary is complete.
func TestResumeAfterKill(t *testing.T) {
	cl := cluster.Shared(t)
	c := cl.Client()
	graph := fixture("resume.hcl")
	moments := []struct {
		name string
		kill func(t *testing.T, r *liveRun, p *plan.Plan)
	}{
		{"wave being submitted", func(t *testing.T, r *liveRun, _ *plan.Plan) {
			r.until(t, time.Minute, "s000-a  complete on")
			r.kill9(t)
		}},
		{"shards running", func(t *testing.T, r *liveRun, _ *plan.Plan) {
			r.until(t, time.Minute, "s001-c  running on")
			r.kill9(t)
		}},
		{"retry pending", func(t *testing.T, r *liveRun, p *plan.Plan) {
			r.until(t, time.Minute, "s002-b  running on")
			// Freeze the launcher until b's first attempt has failed
			// and Nomad has given up on it, then kill it: the retry is
			// left to the resume.
			if err := r.cmd.Process.Signal(syscall.SIGSTOP); err != nil {
				t.Fatal(err)
			}
			waitUntil(t, time.Minute, "b's first attempt to fail", func() (bool, string) {
				j, _, err := c.Jobs().Info(jobOf(p, "s002-b"), nil)
				if err != nil || j.Status == nil {
					return false, fmt.Sprint(err)
				}
				return *j.Status == "dead", "job b is " + *j.Status
			})
			r.kill9(t)
		}},
	}
	for _, m := range moments {
		t.Run(strings.ReplaceAll(m.name, " ", "-"), func(t *testing.T) {
			run := runID(t)
			dir := t.TempDir()
			stopRun(t, cl.NomadAddr(), run)
			args := []string{"-address", cl.NomadAddr(), "-fail-fast", "-retries", "1", "-lease-ttl", resumeLease}
			p := planOf(t, run, graph, "-var", "dir="+dir)
			r := startLive(t, append(append([]string{"run", "-run", run, "-var", "dir=" + dir}, args...), graph)...)
			m.kill(t, r, p)

			time.Sleep(4 * time.Second) // the dead launcher's lease lapses
			out, errOut, code := cli(t, nil, "status", "-address", cl.NomadAddr(), run)
			if code != 1 || !strings.Contains(out, "no launcher drives it") {
				t.Errorf("status of the orphaned run: exit %d, want 1 and 'no launcher drives it'\n%s\n%s", code, out, errOut)
			}
			t.Logf("status before resume:\n%s", out)

			start := time.Now()
			rr := startLive(t, "run", "-address", cl.NomadAddr(), "-resume", run)
			// The resume's first registration: the run progresses again.
			rr.until(t, time.Minute, "submitted")
			t.Logf("resume registered its first job %s after it started", time.Since(start).Round(time.Millisecond))
			for range rr.lines {
			}
			<-rr.done
			out, errOut = rr.output(), rr.stderr.String()
			if code := rr.cmd.ProcessState.ExitCode(); code != 0 {
				t.Fatalf("resume: exit %d\n%s\n%s", code, out, errOut)
			}
			t.Logf("resume took %s:\n%s", time.Since(start).Round(time.Millisecond), out)
			want := map[string]int{"a": 1, "b": 2, "c": 1, "d": 1, "e": 1}
			if got := resumeRuns(t, dir); fmt.Sprint(got) != fmt.Sprint(want) {
				t.Errorf("task runs %v, want %v (as without a kill)", got, want)
			}
			checkRegistrations(t, c, p)
			if !strings.Contains(out, "5/5 complete") {
				t.Errorf("resume output lacks '5/5 complete':\n%s", out)
			}
			for _, s := range p.Shards {
				if !strings.Contains(out, s.ID) {
					t.Errorf("summary lacks shard %s", s.ID)
				}
			}
			out, errOut, code = cli(t, nil, "status", "-address", cl.NomadAddr(), run)
			if code != 0 || !strings.Contains(out, ": complete") || !strings.Contains(out, "5 complete") {
				t.Errorf("status after resume: exit %d\n%s\n%s", code, out, errOut)
			}
		})
	}
}

// TestTwoResumes starts two `shardwise run -resume RUN` at once on a run
// whose launcher was killed: exactly one drives the run to completion,
// the other exits 1 naming the holder. A resume of an unknown run, of a
// run whose stored state is corrupt, of an ended run and with a refused
// token each exit 1 with a clear error and change nothing in Nomad; `stop
// -purge` removes the run's stored state.
func TestTwoResumes(t *testing.T) {
	cl := cluster.Shared(t)
	c := cl.Client()
	run := runID(t)
	dir := t.TempDir()
	stopRun(t, cl.NomadAddr(), run)
	graph := fixture("resume.hcl")
	r := startLive(t, "run", "-address", cl.NomadAddr(), "-run", run, "-var", "dir="+dir,
		"-fail-fast", "-retries", "1", "-lease-ttl", resumeLease, graph)
	r.until(t, time.Minute, "s000-a  running on")
	r.kill9(t)
	time.Sleep(4 * time.Second)

	type result struct {
		out, errOut string
		code        int
	}
	res := make([]result, 2)
	var wg sync.WaitGroup
	for i := range res {
		wg.Add(1)
		go func() {
			defer wg.Done()
			o, e, code := cli(t, nil, "run", "-address", cl.NomadAddr(), "-resume", run)
			res[i] = result{o, e, code}
		}()
	}
	wg.Wait()
	won, lost := -1, -1
	for i, x := range res {
		switch x.code {
		case 0:
			won = i
		case 1:
			lost = i
		}
	}
	if won < 0 || lost < 0 {
		t.Fatalf("want one resume to exit 0 and one 1, got %d and %d\n%+v", res[0].code, res[1].code, res)
	}
	if !strings.Contains(res[lost].errOut, "driven by another launcher, shardwise on ") {
		t.Errorf("the refused resume does not name the holder:\n%s", res[lost].errOut)
	}
	if got := resumeRuns(t, dir); got["e"] != 1 || got["a"] != 1 || got["b"] != 2 {
		t.Errorf("task runs %v, want each once and b twice", got)
	}

	// Bad input: nothing changes in Nomad.
	before, _, err := c.Variables().List(nil)
	if err != nil {
		t.Fatal(err)
	}
	if _, _, err := c.Variables().Create(&api.Variable{Path: "shardwise/runs/" + run + "-corrupt",
		Items: api.VariableItems{"zstd_b64": "bm90IHpzdGQ="}}, nil); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _, _ = c.Variables().Delete("shardwise/runs/"+run+"-corrupt", nil) })
	cases := []struct{ name, run, want string }{
		{"unknown run", run + "-nosuch", "no stored state in Nomad"},
		{"corrupt state", run + "-corrupt", "stored state is corrupt"},
		{"ended run", run, "run has ended (complete)"},
	}
	for _, tc := range cases {
		out, errOut, code := cli(t, nil, "run", "-address", cl.NomadAddr(), "-resume", tc.run)
		if code != 1 || !strings.Contains(errOut, tc.want) || strings.Contains(errOut, "goroutine ") {
			t.Errorf("%s: exit %d, want 1 and %q\n%s\n%s", tc.name, code, tc.want, out, errOut)
		}
	}
	after, _, err := c.Variables().List(nil)
	if err != nil {
		t.Fatal(err)
	}
	if len(after) != len(before)+1 {
		t.Errorf("variables: %d before, %d after the bad resumes (plus the corrupt one)", len(before), len(after))
	}
	for _, v := range after {
		if v.Path == "shardwise/runs/"+run+"-corrupt" && v.ModifyIndex != v.CreateIndex {
			t.Errorf("the corrupt state was rewritten")
		}
	}
	// list shows the run, complete.
	out, errOut, code := cli(t, nil, "list", "-address", cl.NomadAddr())
	if code != 0 || !containsAll(out, []string{"RUN", run + "  ", "complete", "5/5"}) {
		t.Errorf("list: exit %d\n%s\n%s", code, out, errOut)
	}
	// stop -purge removes the run's jobs and every variable of its state.
	out, errOut, code = cli(t, nil, "stop", "-address", cl.NomadAddr(), "-purge", run)
	if code != 0 || !strings.Contains(out, "Purged the stored state of run "+run) {
		t.Errorf("stop -purge: exit %d\n%s\n%s", code, out, errOut)
	}
	left, _, err := c.Variables().PrefixList("shardwise/runs/"+run, nil)
	if err != nil {
		t.Fatal(err)
	}
	for _, v := range left {
		if v.Path == "shardwise/runs/"+run || strings.HasPrefix(v.Path, "shardwise/runs/"+run+"/") {
			t.Errorf("stop -purge left variable %s", v.Path)
		}
	}
	acl := cluster.StartServer(t, true)
	_, errOut, code = cli(t, nil, "run", "-address", acl.Addr(), "-token", "00000000-0000-0000-0000-000000000000", "-resume", run)
	if code != 1 || !strings.Contains(errOut, "refused the request: the ACL token") {
		t.Errorf("resume with a refused token: exit %d\n%s", code, errOut)
	}
}
