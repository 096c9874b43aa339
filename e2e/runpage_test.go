package e2e

import (
	"bufio"
	"encoding/json"
	"io"
	"net"
	"net/http"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/chromedp/chromedp"
	"github.com/hashicorp/nomad/api"

	"github.com/shardwise/shardwise/e2e/cluster"
	"github.com/shardwise/shardwise/internal/browsertest"
	"github.com/shardwise/shardwise/launcher"
	"github.com/shardwise/shardwise/launcher/runpage"
)

// freeAddr returns a loopback host:port free at the time of the call.
func freeAddr(t *testing.T) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	return ln.Addr().String()
}

// TestRunPageBusyPort checks that `run -ui` and `ui -addr` on a port in
// use fail at once (exit 1) naming the flag and address, and that run
// registers nothing in Nomad: no job and no stored run state (so `ui` of
// that run then says Nomad has no state of it).
func TestRunPageBusyPort(t *testing.T) {
	cl := cluster.Shared(t)
	busy, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer busy.Close()
	addr := busy.Addr().String()
	graph := fixture("ui.hcl")
	run := runID(t)
	p := planOf(t, run, graph)
	_, errOut, code := cli(t, nil, "run", "-address", cl.NomadAddr(), "-run", run, "-ui", addr, graph)
	if code != 1 || !strings.Contains(errOut, "-ui "+addr+": cannot serve the run page") || !strings.Contains(errOut, "address already in use") {
		t.Errorf("run -ui on a busy port: exit %d, want 1 naming -ui %s\nstderr:\n%s", code, addr, errOut)
	}
	for _, s := range p.Shards {
		if _, _, err := cl.Client().Jobs().Info(s.Job, nil); err == nil {
			t.Errorf("job %s was registered despite the busy -ui port", s.Job)
		}
	}
	if out, _, code := cli(t, nil, "status", "-address", cl.NomadAddr(), run); code == 0 {
		t.Errorf("status of the refused run exits 0; Nomad has it:\n%s", out)
	}
	_, errOut, code = cli(t, nil, "ui", "-address", cl.NomadAddr(), "-addr", addr, run)
	if code != 1 || !strings.Contains(errOut, "-addr "+addr+": cannot serve the run page") {
		t.Errorf("ui -addr on a busy port: exit %d, want 1 naming -addr %s\nstderr:\n%s", code, addr, errOut)
	}
	// A run Nomad has no state of: said so, and where to look.
	_, errOut, code = cli(t, nil, "ui", "-address", cl.NomadAddr(), "-addr", freeAddr(t), run)
	if code != 1 || !strings.Contains(errOut, "run "+run+": no stored state in Nomad") || !strings.Contains(errOut, "'shardwise list'") {
		t.Errorf("ui of an unknown run: exit %d, want 1 saying it is not stored\nstderr:\n%s", code, errOut)
	}
}

// TestRunPage runs the ui fixture with `run -ui` and watches it in
// headless Chromium: the page shows the plan's shard count, shards move
// through running to complete, and the page reports no error; a
// screenshot is saved. Meanwhile `shardwise ui RUN`, started once the
// run is stored, follows it from Nomad to its end; its /api/run then
// agrees with `status -format json` on every shard and state, with
// allocation links to Nomad's UI.
func TestRunPage(t *testing.T) {
	cl := cluster.Shared(t)
	c := cl.Client()
	graph := fixture("ui.hcl")
	run := runID(t)
	stopRun(t, cl.NomadAddr(), run)
	p := planOf(t, run, graph)
	n := len(p.Shards)
	b := browsertest.New(t, 1280, 1400)

	addr := freeAddr(t)
	r := startLive(t, "run", "-address", cl.NomadAddr(), "-run", run, "-ui", addr, graph)
	r.until(t, 30*time.Second, "Run page on http://"+addr+"/")
	start := time.Now()
	// Once the run is stored (its first shard submitted), `shardwise ui`
	// follows it from Nomad, as from another shell, without driving it.
	r.until(t, 30*time.Second, "s000-prep", "submitted")
	uiAddr := freeAddr(t)
	u := startLive(t, "ui", "-address", cl.NomadAddr(), "-addr", uiAddr, run)
	u.until(t, 30*time.Second, "Run page on http://"+uiAddr+"/")
	watched := watchEvents(t, "http://"+uiAddr+"/events")
	ctx := b.Ctx
	if err := chromedp.Do(ctx, chromedp.Navigate("http://"+addr+"/")); err != nil {
		t.Fatal(err)
	}
	poll := func(what, expr string, timeout time.Duration) {
		t.Helper()
		if _, err := chromedp.Run(ctx, chromedp.Poll[bool](expr, chromedp.WithPollingInterval(50*time.Millisecond), chromedp.WithPollingTimeout(timeout))); err != nil {
			page, _ := chromedp.Run(ctx, chromedp.Evaluate[string](`document.body.dataset.state + " " + document.getElementById("counts").textContent`))
			t.Fatalf("%s: %v\npage: %s\nerrors: %v\nshardwise:\n%s\nstderr:\n%s", what, err, page, b.Errors(), r.output(), &r.stderr)
		}
	}
	// Record every state the page's counts show, as they change.
	if _, err := chromedp.Run(ctx, chromedp.Evaluate[bool](`window.seen = new Set(); setInterval(() =>
		document.querySelectorAll("#counts b").forEach(b => { if (+b.textContent > 0) window.seen.add(b.id.slice(6)); }), 20); true`)); err != nil {
		t.Fatal(err)
	}
	poll("shard count shown", `document.getElementById("shard-count").textContent === "`+strconv.Itoa(n)+`"`, 30*time.Second)
	poll("graph drawn", `document.getElementById("graph").dataset.nodes === "`+strconv.Itoa(n)+`"`, 30*time.Second)
	poll("every shard complete", `document.getElementById("count-complete").textContent === "`+strconv.Itoa(n)+`"`, runTimeout)
	poll("run shown ended", `document.body.dataset.state === "ended"`, 10*time.Second)
	t.Logf("page followed the run to its end in %s", time.Since(start).Round(time.Millisecond))
	seen, err := chromedp.Run(ctx, chromedp.Evaluate[[]string](`[...window.seen]`))
	if err != nil {
		t.Fatal(err)
	}
	t.Logf("states the page showed: %v", seen)
	if !slices.Contains(seen, "running") || !slices.Contains(seen, "complete") || !slices.Contains(seen, "pending") {
		t.Errorf("the page showed states %v; want pending, running and complete as the run went", seen)
	}
	if got, err := chromedp.Run(ctx, chromedp.Evaluate[int](`document.querySelectorAll("#graph g.node.st-complete").length`)); err != nil || got != n {
		t.Errorf("%d graph nodes coloured complete (%v), want %d", got, err, n)
	}
	b.Screenshot(t, "runpage-e2e.png")
	if errs := b.Errors(); len(errs) > 0 {
		t.Errorf("the page reported errors:\n%s", strings.Join(errs, "\n"))
	}
	<-r.done
	if code := r.cmd.ProcessState.ExitCode(); code != 0 {
		t.Fatalf("run -ui exit %d\n%s\nstderr:\n%s", code, r.output(), &r.stderr)
	}

	// `shardwise ui`, started while the run went, followed it from Nomad
	// to its end.
	u.until(t, 30*time.Second, "has ended")
	running := <-watched
	t.Logf("shards `shardwise ui` saw running as they ran: %v", running)
	if len(running) < 2 {
		t.Errorf("`shardwise ui` streamed %d shards as running (%v); a page following the run live sees most of them run", len(running), running)
	}
	resp, err := http.Get("http://" + uiAddr + "/api/run")
	if err != nil {
		t.Fatal(err)
	}
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	var page runpage.Run
	if err := json.Unmarshal(body, &page); err != nil {
		t.Fatalf("/api/run: %v\n%s", err, body)
	}
	out, errOut, code := cli(t, nil, "status", "-address", cl.NomadAddr(), "-format", "json", run)
	if code != 0 {
		t.Fatalf("status -format json: exit %d\n%s", code, errOut)
	}
	var st launcher.StatusDoc
	if err := json.Unmarshal([]byte(out), &st); err != nil {
		t.Fatalf("status JSON: %v\n%s", err, out)
	}
	checkPageAgainstStatus(t, page, st, cl.NomadAddr(), c)
	if !page.Ended || page.Counts[runpage.ShowComplete] != n {
		t.Errorf("ui page: ended %v, counts %v; want ended with %d complete", page.Ended, page.Counts, n)
	}
	if err := u.cmd.Process.Signal(syscall.SIGINT); err != nil {
		t.Fatal(err)
	}
	<-u.done
	if code := u.cmd.ProcessState.ExitCode(); code != 0 {
		t.Errorf("ui exit %d after Ctrl-C, want 0\nstderr:\n%s", code, &u.stderr)
	}
}

// checkPageAgainstStatus compares the page's shards with status's: the
// same shards in the same order, on the same jobs and classes, each in
// the same state (status says "queued" for submitted and "not submitted"
// for pending), and each allocation link naming, in Nomad's UI, an
// allocation of the shard's job.
func checkPageAgainstStatus(t *testing.T, page runpage.Run, st launcher.StatusDoc, nomadAddr string, c *api.Client) {
	t.Helper()
	if len(page.Shards) != len(st.Shards) || len(st.Shards) == 0 {
		t.Fatalf("page has %d shards, status %d", len(page.Shards), len(st.Shards))
	}
	word := map[string]string{"submitted": "queued", "pending": launcher.NotSubmitted, "skipped": launcher.NotSubmitted}
	link := regexp.MustCompile("^" + regexp.QuoteMeta(strings.TrimRight(nomadAddr, "/")) + "/ui/allocations/([0-9a-f-]{36})$")
	for i, ps := range page.Shards {
		ss := st.Shards[i]
		state := ps.State
		if w, ok := word[state]; ok {
			state = w
		}
		if ps.ID != ss.Shard || ps.Job != ss.Job || ps.Class != ss.Class || state != ss.State {
			t.Errorf("shard %d: page %s (job %s, %s, %s), status %s (job %s, %s, %s)", i, ps.ID, ps.Job, ps.Class, ps.State, ss.Shard, ss.Job, ss.Class, ss.State)
		}
		m := link.FindStringSubmatch(ps.AllocURL)
		if m == nil {
			t.Errorf("shard %s: allocation link %q, want %s/ui/allocations/ID", ps.ID, ps.AllocURL, nomadAddr)
			continue
		}
		a, _, err := c.Allocations().Info(m[1], nil)
		if err != nil || a.JobID != ps.Job {
			t.Errorf("shard %s: linked allocation %s: %v (job %v), want one of job %s", ps.ID, m[1], err, a, ps.Job)
		}
	}
}

// watchEvents reads a run page's server-sent events until the "end"
// event, and then sends the shards it saw running.
func watchEvents(t *testing.T, url string) <-chan []string {
	t.Helper()
	resp, err := http.Get(url)
	if err != nil {
		t.Fatal(err)
	}
	out := make(chan []string, 1)
	go func() {
		defer resp.Body.Close()
		var running []string
		sc := bufio.NewScanner(resp.Body)
		sc.Buffer(nil, 1<<22)
		for sc.Scan() {
			data, ok := strings.CutPrefix(sc.Text(), "data: ")
			var e runpage.ShardEvent
			if ok && json.Unmarshal([]byte(data), &e) == nil && e.Shard.Display == runpage.ShowRunning && !slices.Contains(running, e.Shard.ID) {
				running = append(running, e.Shard.ID)
			}
			if sc.Text() == "event: end" {
				break
			}
		}
		out <- running
	}()
	return out
}
