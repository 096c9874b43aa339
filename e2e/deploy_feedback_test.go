package e2e

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	consulapi "github.com/hashicorp/consul/api"
	"github.com/hashicorp/nomad/api"

	"github.com/shardwise/shardwise/e2e/cluster"
	"github.com/shardwise/shardwise/feedback"
	"github.com/shardwise/shardwise/planner/history"
)

// feedbackJobID is the job examples/deploy/feedback.nomad.hcl registers.
const feedbackJobID = "shardwise-feedback"

// TestFeedbackJobRecordsARun deploys the feedback service with `nomad job
// run` of examples/deploy/feedback.nomad.hcl as it is, as an operator
// would: its variables point the artifact at the freshly built shardwise
// binary, served over HTTP with its SHA-256, and the job runs under exec
// on the cpu-heavy client, whose host volume shardwise-history holds the
// store. The job's Consul service must turn healthy (its HTTP check of
// /metrics passing) and answer a scrape; then a graph run with `shardwise
// run` (no -feedback: the deployed service does the recording) must reach
// the store, one successful record per shard on its planned class, and
// stay there after the job stopped, where `shardwise history report`
// reads it. Submitting shardwise_url without a checksum is refused.
func TestFeedbackJobRecordsARun(t *testing.T) {
	nomad := agentBin(t, "nomad")
	cl := cluster.Shared(t)
	c := cl.Client()
	volDir := historyVolumeDir(t, cl)
	db := filepath.Join(volDir, "history.db")
	for _, f := range []string{db, db + "-wal", db + "-shm"} {
		if err := os.Remove(f); err != nil && !os.IsNotExist(err) {
			t.Fatal(err)
		}
	}
	spec := filepath.Join(repoRoot, "examples", "deploy", "feedback.nomad.hcl")
	binURL, sum := serveFile(t, shardwiseBin)
	env := []string{"NOMAD_ADDR=" + cl.NomadAddr()}

	// shardwise_url without a checksum: Nomad refuses the job.
	out, errOut, code := command(t, env, nomad, "job", "validate", "-var", "shardwise_url="+binURL, spec)
	if code == 0 || !strings.Contains(out+errOut, "checksum value cannot be empty") {
		t.Errorf("job validate with shardwise_url and no checksum: exit %d, want a refusal naming the checksum\n%s%s", code, out, errOut)
	}

	t.Cleanup(func() { stopFeedbackJob(t, c) })
	began := time.Now()
	out, errOut, code = command(t, env, nomad, "job", "run", "-detach",
		"-var", "shardwise_url="+binURL, "-var", "shardwise_checksum=sha256:"+sum,
		"-var", "nomad_addr="+cl.NomadAddr(), spec)
	if code != 0 {
		t.Fatalf("nomad job run %s: exit %d\n%s%s", spec, code, out, errOut)
	}
	alloc := waitFeedbackRunning(t, c)
	t.Logf("feedback allocation %s running %s after job run", alloc.ID[:8], time.Since(began).Round(100*time.Millisecond))
	if node, _, err := c.Nodes().Info(alloc.NodeID, nil); err != nil || node.HostVolumes[cluster.HistoryVolume] == nil {
		t.Errorf("feedback allocation on node %s without host volume %s (%v)", alloc.NodeID, cluster.HistoryVolume, err)
	}
	metricsURL := waitServiceHealthy(t, cl.ConsulAddr())
	t.Logf("feedback service healthy in Consul %s after job run, metrics at %s", time.Since(began).Round(100*time.Millisecond), metricsURL)
	if text := scrape(t, metricsURL); !strings.Contains(text, "shardwise_feedback_event_index") {
		t.Fatalf("%s lacks shardwise_feedback_event_index:\n%s", metricsURL, text)
	}

	graph := fixture("learn.hcl")
	run := runID(t)
	stopRun(t, cl.NomadAddr(), run)
	out, errOut, code = cli(t, env, "run", "-run", run, "-fail-fast", graph)
	if code != 0 {
		t.Fatalf("run: exit %d\nstdout:\n%s\nstderr:\n%s", code, out, errOut)
	}
	p := planOf(t, run, graph)
	// The service records every Shardwise allocation Nomad's event stream
	// still holds, earlier tests' runs too: look for this run's.
	var recs map[string]history.Record
	waitUntil(t, 60*time.Second, "the service records the run's allocations", func() (bool, string) {
		var err error
		if recs, err = runRecords(db, run); err != nil {
			return false, err.Error()
		}
		return len(recs) == len(p.Shards), fmt.Sprintf("%d successful records of run %s, want %d", len(recs), run, len(p.Shards))
	})
	if n := ingested(scrape(t, metricsURL)); n < len(p.Shards) {
		t.Errorf("shardwise_feedback_records_ingested_total %d, want at least %d", n, len(p.Shards))
	}
	stopFeedbackJob(t, c)

	// The store outlives the job, on the host volume: the records are
	// there, and `shardwise history report` reads them.
	recs, err := runRecords(db, run)
	if err != nil {
		t.Fatal(err)
	}
	out, errOut, code = cli(t, nil, "history", "report", "-format", "json", "-history", db)
	if code != 0 {
		t.Fatalf("history report: exit %d\n%s%s", code, out, errOut)
	}
	var rows []feedback.Accuracy
	if err := json.Unmarshal([]byte(out), &rows); err != nil {
		t.Fatalf("history report output: %v\n%s", err, out)
	}
	for _, s := range p.Shards {
		r, ok := recs[s.ID]
		if !ok || r.Executor != s.Class {
			t.Errorf("store: shard %s of run %s recorded on %q (found %t), want a successful record on %s", s.ID, run, r.Executor, ok, s.Class)
			continue
		}
		if !slices.ContainsFunc(rows, func(a feedback.Accuracy) bool {
			return a.Signature == r.Signature && a.Executor == r.Executor && a.Records >= 1
		}) {
			t.Errorf("history report has no row for %s on %s:\n%s", r.Signature, r.Executor, out)
		}
	}
}

// runRecords returns the successful records of run in the store at path,
// by shard; other processes may write the store meanwhile.
func runRecords(path, run string) (map[string]history.Record, error) {
	s, err := feedback.OpenExisting(context.Background(), path)
	if err != nil {
		return nil, err
	}
	defer s.Close()
	all, err := s.Records(context.Background())
	if err != nil {
		return nil, err
	}
	out := map[string]history.Record{}
	for _, r := range all {
		if r.Run == run && r.ExitCode == 0 && !r.OOMKilled && r.RuntimeSeconds > 0 {
			out[r.Shard] = r
		}
	}
	return out, nil
}

// historyVolumeDir returns the host directory of the shared cluster's
// history volume.
func historyVolumeDir(t *testing.T, cl *cluster.Cluster) string {
	t.Helper()
	for _, class := range cl.Classes() {
		if dir := cl.HostVolumePath(class.Name, cluster.HistoryVolume); dir != "" {
			return dir
		}
	}
	t.Fatalf("no client of the shared cluster has host volume %s", cluster.HistoryVolume)
	return ""
}

// serveFile serves path over HTTP on loopback for the rest of the test
// and returns its URL and hex SHA-256.
func serveFile(t *testing.T, path string) (string, string) {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	h := sha256.Sum256(b)
	srv := httptest.NewServer(http.FileServer(http.Dir(filepath.Dir(path))))
	t.Cleanup(srv.Close)
	return srv.URL + "/" + filepath.Base(path), hex.EncodeToString(h[:])
}

// waitFeedbackRunning waits until the feedback job's allocation runs and
// returns it; a failed allocation fails t with its task events.
func waitFeedbackRunning(t *testing.T, c *api.Client) *api.Allocation {
	t.Helper()
	var running *api.Allocation
	waitUntil(t, 90*time.Second, "the feedback allocation runs", func() (bool, string) {
		stubs, _, err := c.Jobs().Allocations(feedbackJobID, false, nil)
		if err != nil {
			return false, err.Error()
		}
		for _, s := range stubs {
			a, _, err := c.Allocations().Info(s.ID, nil)
			if err != nil {
				return false, err.Error()
			}
			switch a.ClientStatus {
			case api.AllocClientStatusRunning:
				running = a
				return true, ""
			case api.AllocClientStatusFailed:
				t.Fatalf("feedback allocation %s failed: %s", a.ID, taskEvents(a))
			}
		}
		return false, fmt.Sprintf("%d allocations, none running", len(stubs))
	})
	return running
}

// taskEvents lists an allocation's task events, for failure messages.
func taskEvents(a *api.Allocation) string {
	var evs []string
	for name, ts := range a.TaskStates {
		for _, ev := range ts.Events {
			evs = append(evs, name+": "+ev.Type+": "+ev.DisplayMessage)
		}
	}
	return strings.Join(evs, "; ")
}

// waitServiceHealthy waits until Consul has a passing instance of the
// feedback service (its HTTP check of /metrics included) and returns the
// instance's metrics URL.
func waitServiceHealthy(t *testing.T, consulAddr string) string {
	t.Helper()
	client, err := consulapi.NewClient(&consulapi.Config{Address: strings.TrimPrefix(consulAddr, "http://"), Scheme: "http"})
	if err != nil {
		t.Fatal(err)
	}
	var url string
	// Consul runs a new HTTP check first after a random part of its
	// 10 s interval.
	waitUntil(t, 60*time.Second, "Consul reports the feedback service passing", func() (bool, string) {
		entries, _, err := client.Health().Service(feedbackJobID, "prometheus", true, nil)
		if err != nil {
			return false, err.Error()
		}
		for _, e := range entries {
			for _, chk := range e.Checks {
				if chk.ServiceName == feedbackJobID && chk.Type == "http" && chk.Status == consulapi.HealthPassing {
					url = fmt.Sprintf("http://%s:%d%s", e.Service.Address, e.Service.Port, e.Service.Meta["metrics_path"])
					return true, ""
				}
			}
		}
		return false, fmt.Sprintf("%d passing instances with a passing HTTP check", len(entries))
	})
	return url
}

// scrape returns the body of a GET of url.
func scrape(t *testing.T, url string) string {
	t.Helper()
	resp, err := http.Get(url)
	if err != nil {
		t.Fatalf("scrape %s: %v", url, err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil || resp.StatusCode != http.StatusOK {
		t.Fatalf("scrape %s: %s, %v", url, resp.Status, err)
	}
	return string(b)
}

var ingestedLine = regexp.MustCompile(`(?m)^shardwise_feedback_records_ingested_total\{[^}]*\} (\S+)$`)

// ingested sums shardwise_feedback_records_ingested_total over executors.
func ingested(metrics string) int {
	n := 0
	for _, m := range ingestedLine.FindAllStringSubmatch(metrics, -1) {
		v, _ := strconv.ParseFloat(m[1], 64)
		n += int(v)
	}
	return n
}

// stopFeedbackJob stops the feedback job, waits until its allocations
// stopped (so the store is closed), then purges it. A job already gone
// is not an error.
func stopFeedbackJob(t *testing.T, c *api.Client) {
	t.Helper()
	if _, _, err := c.Jobs().Deregister(feedbackJobID, false, nil); err != nil {
		return
	}
	deadline := time.Now().Add(60 * time.Second)
	for {
		stubs, _, err := c.Jobs().Allocations(feedbackJobID, true, nil)
		if err != nil {
			t.Errorf("allocations of %s: %v", feedbackJobID, err)
			break
		}
		live := 0
		for _, s := range stubs {
			if s.ClientStatus == api.AllocClientStatusRunning || s.ClientStatus == api.AllocClientStatusPending {
				live++
			}
		}
		if live == 0 {
			break
		}
		if time.Now().After(deadline) {
			t.Errorf("%d allocations of %s still running 60 s after it was stopped", live, feedbackJobID)
			break
		}
		time.Sleep(200 * time.Millisecond)
	}
	if _, _, err := c.Jobs().Deregister(feedbackJobID, true, nil); err != nil {
		t.Errorf("purge %s: %v", feedbackJobID, err)
	}
}
