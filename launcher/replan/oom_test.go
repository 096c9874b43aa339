package replan

import (
	"testing"
	"time"

	"github.com/hashicorp/nomad/api"

	"github.com/shardwise/shardwise/planner/catalog"
	"github.com/shardwise/shardwise/sdk"
)

// oomAlloc is a failed shard allocation on class that asked for memory
// MiB with memory_max maxMiB (0 for none) and ended with the driver's
// verdict oomKilled.
func oomAlloc(class string, memory, maxMiB int64, oomKilled bool) *api.Allocation {
	meta := map[string]string{sdk.MetaGraph: "g", sdk.MetaRun: "r", sdk.MetaShard: "s000-hog", sdk.MetaSignature: "sig",
		sdk.MetaClass: class}
	t0 := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	verdict := map[string]string{"oom_killed": "false"}
	if oomKilled {
		verdict["oom_killed"] = "true"
	}
	return &api.Allocation{
		ID: "alloc-1", Name: "s000-hog.hog[0]", TaskGroup: "hog", NodeName: "n1",
		Job: &api.Job{Meta: meta, TaskGroups: []*api.TaskGroup{{Name: new("hog"), Meta: meta,
			Tasks: []*api.Task{{Name: "hog", Driver: "shard"}}}}},
		TaskStates: map[string]*api.TaskState{"hog": {State: "dead", Failed: true, StartedAt: t0, FinishedAt: t0.Add(time.Second),
			Events: []*api.TaskEvent{{Type: api.TaskTerminated, ExitCode: 137, Details: verdict}}}},
		AllocatedResources: &api.AllocatedResources{Tasks: map[string]*api.AllocatedTaskResources{
			"hog": {Memory: api.AllocatedMemoryResources{MemoryMB: memory, MemoryMaxMB: maxMiB}}}},
	}
}

// TestOOMRetryDoublesBoundedByClass: an OOM kill at the 96 MiB memory_max
// of a 64 MiB shard retries with twice that, 192 MiB; a class of 150 MiB
// instances bounds it to 150 MiB, and one that died at its class's
// instance memory gets no larger retry. A kill that was not the OOM
// killer's is not resized.
func TestOOMRetryDoublesBoundedByClass(t *testing.T) {
	cat := &catalog.Catalog{Classes: []*catalog.Class{
		{Name: "memory-intensive", Shape: catalog.Shape{MemoryMiB: 256 << 10}},
		{Name: "small", Shape: catalog.Shape{MemoryMiB: 150}},
	}}
	retry := OOMRetry(cat)
	for _, tc := range []struct {
		name              string
		class             string
		memory, max, want int64
		oom, wantRetry    bool
	}{
		{"doubles from memory_max", "memory-intensive", 64, 96, 192, true, true},
		{"second kill", "memory-intensive", 192, 288, 576, true, true},
		{"bounded by the class shape", "small", 64, 96, 150, true, true},
		{"already at the class shape", "small", 150, 0, 150, true, true},
		{"class not in the catalog: factor only", "gpu", 100, 0, 200, true, true},
		{"killed, not OOM", "memory-intensive", 64, 96, 0, false, false},
	} {
		mib, ok := retry(oomAlloc(tc.class, tc.memory, tc.max, tc.oom))
		if ok != tc.wantRetry || mib != tc.want {
			t.Errorf("%s: OOMRetry = %d MiB, %v; want %d MiB, %v", tc.name, mib, ok, tc.want, tc.wantRetry)
		}
	}
	if mib, ok := OOMRetry(nil)(oomAlloc("small", 64, 96, true)); !ok || mib != 192 {
		t.Errorf("OOMRetry(nil) = %d MiB, %v; want 192 MiB unbounded", mib, ok)
	}
}
