package e2e

import (
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/hashicorp/nomad/api"

	"github.com/shardwise/shardwise/e2e/cluster"
)

// pipelineBytes is what each channel of shard-pipeline.hcl carries: 1 GiB.
const pipelineBytes = 1 << 30

// TestShardPipelineMovesOneGiB runs shard-pipeline.hcl with `shardwise run
// -driver shard`: io-bound generates 1 GiB, cpu-heavy receives it and
// passes it on from a custom output path, memory-intensive receives it at
// a custom input path and writes its SHA-256. The bytes that arrive must be
// the bytes generated: the checksum each end prints on stdout (read
// through the Nomad API), the result file in the consumer's task dir, and
// the plugins' fetch log lines (1 GiB per channel, 2 GiB in all) agree.
func TestShardPipelineMovesOneGiB(t *testing.T) {
	cl := cluster.Shared(t)
	requireShardDriver(t, cl)
	c := cl.Client()
	run := runID(t)
	graph := fixture("shard-pipeline.hcl")
	p := planOf(t, run, graph)
	if len(p.Shards) != 3 || len(p.Channels) != 2 {
		t.Fatalf("plan has %d shards and %d channels, want 3 and 2", len(p.Shards), len(p.Channels))
	}
	stopRun(t, cl.NomadAddr(), run)

	began := time.Now()
	out, errOut, code := cli(t, nil, "run", "-address", cl.NomadAddr(), "-run", run, "-driver", "shard", graph)
	elapsed := time.Since(began)
	if code != 0 {
		t.Fatalf("run exit %d\nstdout:\n%s\nstderr:\n%s", code, out, errOut)
	}
	if !strings.Contains(out, "3/3 complete") {
		t.Errorf("output lacks 3/3 complete:\n%s", out)
	}
	runs := shardRuns(t, c, p)
	for _, s := range p.Shards {
		if got := runs[s.ID].node.NodeClass; got != s.Class {
			t.Errorf("shard %s ran on class %q, planned %q", s.ID, got, s.Class)
		}
	}

	source, size := checksumLine(t, taskStdout(t, c, runs["s000-generate"].alloc, "generate"), "generate")
	if size != pipelineBytes {
		t.Fatalf("generate wrote %d bytes, want %d", size, pipelineBytes)
	}
	if out := taskStdout(t, c, runs["s001-transform"].alloc, "transform"); !strings.Contains(out, "transform bytes "+strconv.Itoa(pipelineBytes)) {
		t.Errorf("transform received: %q", out)
	}
	arrived, got := checksumLine(t, taskStdout(t, c, runs["s002-consume"].alloc, "consume"), "consume")
	if arrived != source || got != size {
		t.Errorf("consume received %d bytes with sha256 %s; generate wrote %d bytes with sha256 %s", got, arrived, size, source)
	}
	if res := strings.TrimSpace(allocFile(t, c, runs["s002-consume"].alloc, "consume/result/sha256")); res != source+" "+strconv.Itoa(pipelineBytes) {
		t.Errorf("consume/result/sha256 = %q, want %q", res, source+" "+strconv.Itoa(pipelineBytes))
	}
	checkEvents(t, runs["s002-consume"].alloc, "fetching s001-transform/data (1073741824 bytes)", "inputs ready")
	// Each consumer's job, as the launcher registered it, names the
	// producer's allocation, so no stale registration could have been read.
	for _, ch := range p.Channels {
		if got, want := inputFromAlloc(t, runs[ch.To].alloc, ch.ID), runs[ch.From].alloc.ID; got != want {
			t.Errorf("job of %s: input %s from_alloc %q, want the producer's allocation %s", ch.To, ch.ID, got, want)
		}
	}

	// The plugins of the two consuming nodes log each fetch.
	var moved int64
	for _, s := range p.Shards[1:] {
		ch := p.Channels[0].ID
		if s.ID == p.Channels[1].To {
			ch = p.Channels[1].ID
		}
		line := fetchLogs(t, cl, s.Class, run, ch)[ch]
		n, _ := strconv.ParseInt(logField(line, "bytes"), 10, 64)
		if n != pipelineBytes || logField(line, "sha256") != source {
			t.Errorf("fetch of %s on %s: %s", ch, s.Class, line)
		}
		moved += n
		t.Logf("channel %s -> %s: %s bytes in %s s (%s MB/s), %s attempt(s)", ch, s.ID,
			logField(line, "bytes"), logField(line, "seconds"), logField(line, "mb_per_s"), logField(line, "attempts"))
	}
	t.Logf("pipeline: %d bytes over channels (source sha256 %s) in %s", moved, source, elapsed.Round(100*time.Millisecond))
}

// inputFromAlloc returns the from_alloc of input channel id in the shard
// task config of the job a ran (its job as registered).
func inputFromAlloc(t *testing.T, a *api.Allocation, id string) string {
	t.Helper()
	if a.Job == nil || len(a.Job.TaskGroups) != 1 || len(a.Job.TaskGroups[0].Tasks) != 1 {
		t.Fatalf("allocation %s: not one task group with one task", a.ID)
	}
	ins, _ := a.Job.TaskGroups[0].Tasks[0].Config["inputs"].([]any)
	for _, v := range ins {
		if in, ok := v.(map[string]any); ok && in["id"] == id {
			s, _ := in["from_alloc"].(string)
			return s
		}
	}
	t.Fatalf("allocation %s: no input %s in %v", a.ID, id, a.Job.TaskGroups[0].Tasks[0].Config["inputs"])
	return ""
}
