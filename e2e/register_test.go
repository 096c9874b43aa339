package e2e

import (
	"context"
	"fmt"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/hashicorp/go-cleanhttp"
	"github.com/hashicorp/nomad/api"

	"github.com/shardwise/shardwise/e2e/cluster"
	"github.com/shardwise/shardwise/launcher"
	"github.com/shardwise/shardwise/planner/catalog"
	"github.com/shardwise/shardwise/planner/plan"
	"github.com/shardwise/shardwise/planner/predict"
	"github.com/shardwise/shardwise/sdk"
	"github.com/shardwise/shardwise/translator/hclreader"
	"github.com/shardwise/shardwise/translator/nomadjob"
)

// registerCounter is an HTTP transport that counts the job registrations
// (PUT /v1/jobs) in flight at once and holds each one for delay before
// passing it to the real agent, as a loaded Nomad server would, so that
// overlap does not depend on the host's speed.
type registerCounter struct {
	next  http.RoundTripper
	delay time.Duration

	mu             sync.Mutex
	inFlight, peak int
	total          int
}

func (rc *registerCounter) RoundTrip(req *http.Request) (*http.Response, error) {
	if req.Method != http.MethodPut || req.URL.Path != "/v1/jobs" {
		return rc.next.RoundTrip(req)
	}
	rc.mu.Lock()
	rc.inFlight++
	rc.total++
	rc.peak = max(rc.peak, rc.inFlight)
	rc.mu.Unlock()
	defer func() {
		rc.mu.Lock()
		rc.inFlight--
		rc.mu.Unlock()
	}()
	time.Sleep(rc.delay)
	return rc.next.RoundTrip(req)
}

// waveGraph is the HCL of width independent trivial tasks and one task
// that depends on all of them.
func waveGraph(width int) string {
	var b strings.Builder
	b.WriteString("graph \"wave\" {\n  datacenters = [\"dc1\"]\n  driver = \"raw_exec\"\n")
	var deps []string
	for i := range width {
		fmt.Fprintf(&b, "  task \"t%d\" {\n    command = \"/bin/true\"\n    hints {\n      kind = \"cpu\"\n      cpu = 100\n      memory = \"32MiB\"\n      runtime = \"1s\"\n    }\n  }\n", i)
		deps = append(deps, fmt.Sprintf("task.t%d", i))
	}
	fmt.Fprintf(&b, "  task \"join\" {\n    command = \"/bin/true\"\n    depends_on = [%s]\n    hints {\n      kind = \"cpu\"\n      cpu = 100\n      memory = \"32MiB\"\n      runtime = \"1s\"\n    }\n  }\n}\n", strings.Join(deps, ", "))
	return b.String()
}

// TestLauncherRegistersAWaveConcurrently runs a wave of 16 ready shards
// and a shard that depends on all of them on the real cluster, through a
// client whose transport counts job registrations in flight (each held
// 1 s), with Options.RegisterConcurrency 6: the wave's registrations
// overlap up to exactly 6 at once, every shard completes, and the joining
// shard starts only after all 16 finished.
func TestLauncherRegistersAWaveConcurrently(t *testing.T) {
	const width, limit = 16, 6
	cl := cluster.Shared(t)
	path := filepath.Join(t.TempDir(), "wave.hcl")
	if err := os.WriteFile(path, []byte(waveGraph(width)), 0o644); err != nil {
		t.Fatal(err)
	}
	cat := catalog.Default()
	g, diags := hclreader.ParseFile(path, hclreader.Options{Executors: cat.Names()})
	if diags.HasErrors() {
		t.Fatal(diags.Error())
	}
	pred, err := predict.New(cat, nil)
	if err != nil {
		t.Fatal(err)
	}
	tb, err := pred.Predict(g)
	if err != nil {
		t.Fatal(err)
	}
	p, err := plan.Build(g, cat, tb, plan.Options{Run: runID(t), NoFusion: true})
	if err != nil {
		t.Fatal(err)
	}
	jobs, err := nomadjob.Jobs(p, g, cat, nomadjob.Options{Driver: sdk.DriverRawExec})
	if err != nil {
		t.Fatal(err)
	}
	if len(jobs) != width+1 {
		t.Fatalf("%d jobs, want %d", len(jobs), width+1)
	}
	t.Cleanup(func() { purge(cl.Client(), jobs) })

	hc := cleanhttp.DefaultPooledClient()
	rc := &registerCounter{next: hc.Transport, delay: time.Second}
	hc.Transport = rc
	c, err := api.NewClient(&api.Config{Address: cl.NomadAddr(), HttpClient: hc})
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	defer cancel()
	rep, err := (&launcher.Launcher{Client: c}).Run(ctx, p, jobs, launcher.Options{NoLocality: true, RegisterConcurrency: limit})
	if err != nil {
		t.Fatalf("run: %v", err)
	}
	if rep.Failure != nil {
		t.Fatalf("shard %s failed: %s", rep.Failure.Shard, rep.Failure.Reason)
	}
	if rc.total != width+1 {
		t.Errorf("%d registrations, want %d", rc.total, width+1)
	}
	if rc.peak != limit {
		t.Errorf("at most %d registrations in flight, want %d (a wave of %d ready shards)", rc.peak, limit, width)
	}
	checkOrder(t, p, shardRuns(t, cl.Client(), p))
	t.Logf("%d registrations, at most %d in flight", rc.total, rc.peak)
}
