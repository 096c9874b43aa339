package runpage

import (
	"bufio"
	"compress/gzip"
	"encoding/json"
	"io"
	"io/fs"
	"net/http"
	"net/http/httptest"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/shardwise/shardwise/launcher"
	"github.com/shardwise/shardwise/planner/plan"
)

// smallPlan is a -> {b, c}: a on cpu-heavy, b on gpu, c on io-bound.
func smallPlan() *plan.Plan {
	return &plan.Plan{Graph: "small", Run: "r1", MakespanSeconds: 30,
		Classes: []*plan.ClassUse{{Class: "cpu-heavy", Instances: 2, BusySeconds: 10}, {Class: "gpu-accelerated", Instances: 1, BusySeconds: 20}, {Class: "io-bound", Instances: 1, BusySeconds: 5}},
		Shards: []*plan.Shard{
			{ID: "a", Job: "small-r1-a", Class: "cpu-heavy", StartSeconds: 0, FinishSeconds: 10, RuntimeSeconds: plan.Estimate{Value: 10}},
			{ID: "b", Job: "small-r1-b", Class: "gpu-accelerated", StartSeconds: 10, FinishSeconds: 30, RuntimeSeconds: plan.Estimate{Value: 20}, Upstream: []string{"a"}},
			{ID: "c", Job: "small-r1-c", Class: "io-bound", StartSeconds: 10, FinishSeconds: 15, RuntimeSeconds: plan.Estimate{Value: 5}, Upstream: []string{"a"}},
		}}
}

// sse reads server-sent events from r.
type sse struct{ sc *bufio.Scanner }

// next returns the next event's name and data, or "" at the end.
func (s *sse) next(t *testing.T) (string, string) {
	t.Helper()
	var name, data string
	for s.sc.Scan() {
		line := s.sc.Text()
		switch {
		case line == "" && name != "":
			return name, data
		case strings.HasPrefix(line, "event: "):
			name = strings.TrimPrefix(line, "event: ")
		case strings.HasPrefix(line, "data: "):
			data = strings.TrimPrefix(line, "data: ")
		}
	}
	return "", ""
}

func TestEventsDeliverChanges(t *testing.T) {
	pg := New(smallPlan(), "http://nomad.example:4646/")
	srv := httptest.NewServer(pg.Handler())
	defer srv.Close()
	start := time.Now().Add(-time.Minute)
	pg.Start(launcher.Snapshot{Start: start})

	resp, err := http.Get(srv.URL + "/events")
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	if ct := resp.Header.Get("Content-Type"); ct != "text/event-stream" {
		t.Fatalf("Content-Type %q", ct)
	}
	s := &sse{sc: bufio.NewScanner(resp.Body)}
	s.sc.Buffer(nil, 1<<22)
	name, data := s.next(t)
	var r Run
	if name != "run" || json.Unmarshal([]byte(data), &r) != nil || len(r.Shards) != 3 || r.Counts[ShowPending] != 3 {
		t.Fatalf("first event %q %s, want the whole run with 3 pending shards", name, data)
	}

	now := start.Add(5 * time.Second)
	steps := []struct {
		c    launcher.Change
		want string
	}{
		{launcher.Change{Shard: "a", Class: "cpu-heavy", From: launcher.Pending, To: launcher.Submitted, Attempt: 1, Time: now}, ShowSubmitted},
		{launcher.Change{Shard: "a", Class: "cpu-heavy", From: launcher.Submitted, To: launcher.Submitted, Attempt: 1, Alloc: "0123456789ab", Placed: true, Time: now}, ShowPlaced},
		{launcher.Change{Shard: "a", Class: "cpu-heavy", From: launcher.Submitted, To: launcher.Running, Attempt: 1, Alloc: "0123456789ab", Node: "client-cpu", Started: now, Time: now}, ShowRunning},
		{launcher.Change{Shard: "a", Class: "cpu-heavy", From: launcher.Running, To: launcher.Complete, Attempt: 1, Alloc: "0123456789ab", Node: "client-cpu", Started: now, Finished: now.Add(8 * time.Second), Time: now.Add(9 * time.Second)}, ShowComplete},
		{launcher.Change{Shard: "b", Class: "cpu-heavy", From: launcher.Pending, To: launcher.Submitted, Attempt: 1, Reason: "re-planned", Time: now}, ShowReplanned},
		{launcher.Change{Shard: "c", Class: "io-bound", From: launcher.Submitted, To: launcher.Failed, Attempt: 2, Reason: "allocation 01234567 failed", Time: now}, ShowFailed},
	}
	for _, st := range steps {
		pg.Change(st.c, launcher.Snapshot{})
		name, data := s.next(t)
		var e ShardEvent
		if name != "shard" || json.Unmarshal([]byte(data), &e) != nil {
			t.Fatalf("after %+v: event %q %s", st.c, name, data)
		}
		if e.Shard.ID != st.c.Shard || e.Shard.Display != st.want || e.Shard.State != st.c.To.String() {
			t.Errorf("after %s -> %s: shard %s shown %s (state %s), want %s", st.c.Shard, st.c.To, e.Shard.ID, e.Shard.Display, e.Shard.State, st.want)
		}
		if e.Counts[st.want] == 0 {
			t.Errorf("counts %v after %s: none %s", e.Counts, st.c.Shard, st.want)
		}
	}
	a := pg.Snapshot(time.Now()).Shards[0]
	if a.AllocURL != "http://nomad.example:4646/ui/allocations/0123456789ab" || a.Node != "client-cpu" {
		t.Errorf("shard a: alloc URL %q node %q", a.AllocURL, a.Node)
	}
	if a.StartSeconds == nil || a.FinishSeconds == nil || *a.StartSeconds != 5 || *a.FinishSeconds != 13 {
		t.Errorf("shard a: start %v finish %v, want Nomad's task times 5 s and 13 s into the run", a.StartSeconds, a.FinishSeconds)
	}
	if b := pg.Snapshot(time.Now()).Shards[1]; !b.Replanned || b.PlannedClass != "gpu-accelerated" || b.Class != "cpu-heavy" {
		t.Errorf("shard b: %+v, want re-planned from gpu-accelerated to cpu-heavy", b)
	}

	pg.Finish(launcher.Snapshot{})
	if name, data := s.next(t); name != "end" || !strings.Contains(data, `"ended":true`) {
		t.Errorf("last event %q %.80s, want end with the ended run", name, data)
	}
	if name, _ := s.next(t); name != "" {
		t.Errorf("event %q after the end; the stream should close", name)
	}
	// A browser that connects after the end gets the run and the end.
	resp2, err := http.Get(srv.URL + "/events")
	if err != nil {
		t.Fatal(err)
	}
	defer resp2.Body.Close()
	if name, _ := (&sse{sc: bufio.NewScanner(resp2.Body)}).next(t); name != "end" {
		t.Errorf("late browser's first event %q, want end", name)
	}
}

// TestSlowBrowserDropped checks that a browser that falls behind is
// dropped (to reconnect and start over) rather than blocking the
// launcher.
func TestSlowBrowserDropped(t *testing.T) {
	pg := New(smallPlan(), "http://nomad:4646")
	pg.bufLen = 2
	ch, cancel := pg.subscribe()
	defer cancel()
	done := make(chan struct{})
	go func() {
		for i := 0; i < 10; i++ {
			pg.Change(launcher.Change{Shard: "a", To: launcher.Running, Time: time.Now()}, launcher.Snapshot{})
		}
		close(done)
	}()
	select {
	case <-done:
	case <-time.After(5 * time.Second):
		t.Fatal("Change blocked on a browser that does not read")
	}
	n := 0
	for range ch {
		n++
	}
	if n > 4 {
		t.Errorf("read %d events from a dropped subscriber of buffer 2", n)
	}
}

func TestRunJSON(t *testing.T) {
	pg := New(smallPlan(), "http://127.0.0.1:4646")
	srv := httptest.NewServer(pg.Handler())
	defer srv.Close()
	start := time.Now().Add(-20 * time.Second)
	pg.Start(launcher.Snapshot{Start: start})
	pg.Change(launcher.Change{Shard: "a", Class: "cpu-heavy", To: launcher.Complete, Alloc: "aaaa", Started: start, Finished: start.Add(10 * time.Second)}, launcher.Snapshot{})
	pg.Change(launcher.Change{Shard: "b", Class: "gpu-accelerated", To: launcher.Running, Alloc: "bbbb", Started: start.Add(10 * time.Second)}, launcher.Snapshot{})

	resp, err := http.Get(srv.URL + "/api/run")
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	if ct := resp.Header.Get("Content-Type"); ct != "application/json" {
		t.Errorf("Content-Type %q", ct)
	}
	var raw map[string]any
	body, _ := io.ReadAll(resp.Body)
	if err := json.Unmarshal(body, &raw); err != nil {
		t.Fatal(err)
	}
	for _, k := range []string{"run", "graph", "nomad_ui", "started", "now", "elapsed_seconds", "predicted_makespan_seconds", "ended", "counts", "classes", "shards"} {
		if _, ok := raw[k]; !ok {
			t.Errorf("/api/run lacks %q", k)
		}
	}
	var r Run
	if err := json.Unmarshal(body, &r); err != nil {
		t.Fatal(err)
	}
	if r.Run != "r1" || r.Graph != "small" || r.NomadUI != "http://127.0.0.1:4646/ui" || len(r.Shards) != 3 || r.Ended {
		t.Errorf("run %+v", r)
	}
	shard0 := raw["shards"].([]any)[0].(map[string]any)
	for _, k := range []string{"id", "job", "class", "planned_class", "state", "display", "alloc", "alloc_url", "predicted_start_seconds", "predicted_finish_seconds", "predicted_seconds", "start_seconds", "finish_seconds"} {
		if _, ok := shard0[k]; !ok {
			t.Errorf("shard a in /api/run lacks %q: %v", k, shard0)
		}
	}
	if r.Counts[ShowComplete] != 1 || r.Counts[ShowRunning] != 1 || r.Counts[ShowPending] != 1 {
		t.Errorf("counts %v", r.Counts)
	}
	var gpu, cpu ClassUse
	for _, c := range r.Classes {
		switch c.Class {
		case "gpu-accelerated":
			gpu = c
		case "cpu-heavy":
			cpu = c
		}
	}
	// b has run ~10 s of the ~20 s elapsed on the class's 1 instance.
	if gpu.Running != 1 || gpu.Instances != 1 || gpu.Utilisation < 0.4 || gpu.Utilisation > 0.6 || gpu.PredictedBusySeconds != 20 {
		t.Errorf("gpu-accelerated use %+v, want 1/1 running, ~50%% utilisation", gpu)
	}
	// a ran 10 s of ~20 s on 2 instances.
	if cpu.Running != 0 || cpu.BusySeconds != 10 || cpu.Utilisation < 0.2 || cpu.Utilisation > 0.3 {
		t.Errorf("cpu-heavy use %+v, want 10 busy seconds, ~25%% utilisation", cpu)
	}
}

func TestAssetsEmbedded(t *testing.T) {
	pg := New(smallPlan(), "http://127.0.0.1:4646")
	srv := httptest.NewServer(pg.Handler())
	defer srv.Close()
	for path, ct := range map[string]string{"/": "text/html", "/app.js": "text/javascript", "/app.css": "text/css", "/graph.svg": "image/svg+xml"} {
		resp, err := http.Get(srv.URL + path)
		if err != nil {
			t.Fatal(err)
		}
		body, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		if resp.StatusCode != 200 || !strings.HasPrefix(resp.Header.Get("Content-Type"), ct) || len(body) == 0 {
			t.Errorf("GET %s: %d %q (%d bytes), want 200 %s", path, resp.StatusCode, resp.Header.Get("Content-Type"), len(body), ct)
		}
		if path == "/" && (!strings.Contains(string(body), `src="app.js"`) || !strings.Contains(string(body), `href="app.css"`)) {
			t.Errorf("the page does not load app.js and app.css")
		}
		if path == "/graph.svg" && strings.Count(string(body), `class="node"`) != 3 {
			t.Errorf("graph.svg has %d nodes, want 3", strings.Count(string(body), `class="node"`))
		}
	}
	// Offline: no asset refers to anything off this server (the SVG
	// namespace is a name, not a fetch).
	external := regexp.MustCompile(`(?i)(https?:)?//[a-z0-9.-]+\.[a-z]{2,}`)
	err := fs.WalkDir(assets, "assets", func(path string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		b, err := assets.ReadFile(path)
		if err != nil {
			return err
		}
		for _, m := range external.FindAllString(string(b), -1) {
			if m != "http://www.w3.org" {
				t.Errorf("%s refers to %s: the page must work offline", path, m)
			}
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
}

// gzSize is the size of path's response body as a browser that accepts
// gzip receives it.
func gzSize(t *testing.T, url string) (compressed, plain int) {
	t.Helper()
	req, _ := http.NewRequest("GET", url, nil)
	req.Header.Set("Accept-Encoding", "gzip")
	resp, err := http.DefaultTransport.RoundTrip(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	if resp.Header.Get("Content-Encoding") != "gzip" {
		t.Fatalf("%s: not gzip-compressed", url)
	}
	zr, err := gzip.NewReader(strings.NewReader(string(b)))
	if err != nil {
		t.Fatal(err)
	}
	p, _ := io.ReadAll(zr)
	return len(b), len(p)
}

// TestPayload1000 measures what a browser downloads for a 1,000-shard
// run: the graph and the run's JSON, compressed.
func TestPayload1000(t *testing.T) {
	if testing.Short() {
		t.Skip("lays out 1,000 shards (seconds)")
	}
	pg := New(synthPlan(1000, 50), "http://127.0.0.1:4646")
	srv := httptest.NewServer(pg.Handler())
	defer srv.Close()
	start := time.Now()
	gz, plain := gzSize(t, srv.URL+"/graph.svg")
	t.Logf("graph.svg: %d bytes, %d gzip-compressed (laid out in %s)", plain, gz, time.Since(start).Round(time.Millisecond))
	jgz, jplain := gzSize(t, srv.URL+"/api/run")
	t.Logf("/api/run: %d bytes, %d gzip-compressed", jplain, jgz)
	// Bounds a browser on a slow link still loads in seconds.
	if gz > 400<<10 || jgz > 150<<10 {
		t.Errorf("1,000 shards: graph %d B, run JSON %d B compressed; want under 400 KiB and 150 KiB", gz, jgz)
	}
}
