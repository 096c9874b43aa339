package launcher

import (
	"strings"
	"testing"
	"time"

	"github.com/hashicorp/nomad/api"
)

func TestNeverPlaceableFromAllocMetric(t *testing.T) {
	ask := api.Resources{CPU: new(100), MemoryMB: new(256), Cores: new(4), DiskMB: new(300)}
	big := capacity{cpuMHz: 4000, memoryMiB: 8192, cores: 8, diskMiB: 10240, nodes: 1, ok: true}
	small := capacity{cpuMHz: 4000, memoryMiB: 128, cores: 8, diskMiB: 10240, nodes: 1, ok: true}
	for _, tc := range []struct {
		name  string
		m     *api.AllocationMetric
		room  capacity
		never bool
		want  []string
	}{
		{"class and devices filter every node", &api.AllocationMetric{NodesEvaluated: 5, NodesFiltered: 5,
			ConstraintFiltered: map[string]int{"${node.class} = gpu-accelerated": 4, "missing devices": 1}},
			big, true, []string{"no node of class gpu-accelerated satisfies", "all 5 nodes evaluated", "4 nodes excluded by ${node.class} = gpu-accelerated", "1 nodes excluded by missing devices"}},
		{"class filtered", &api.AllocationMetric{NodesEvaluated: 3, NodesFiltered: 3, ClassFiltered: map[string]int{"cpu-heavy": 3}},
			capacity{}, true, []string{`3 nodes of class "cpu-heavy" excluded`}},
		{"class busy: queue", &api.AllocationMetric{NodesEvaluated: 5, NodesFiltered: 4, NodesExhausted: 1,
			ConstraintFiltered: map[string]int{"${node.class} = gpu-accelerated": 4},
			ClassExhausted:     map[string]int{"gpu-accelerated": 1}, DimensionExhausted: map[string]int{"memory": 1}},
			big, false, nil},
		{"devices busy: queue", &api.AllocationMetric{NodesEvaluated: 5, NodesFiltered: 4, NodesExhausted: 1,
			DimensionExhausted: map[string]int{"devices: no devices match request": 1}},
			big, false, nil},
		{"memory beyond every node", &api.AllocationMetric{NodesEvaluated: 5, NodesFiltered: 4, NodesExhausted: 1,
			DimensionExhausted: map[string]int{"memory": 1}},
			small, true, []string{"asks for 256 MiB memory", "at most 128 MiB", "1 nodes exhausted memory"}},
		// examples/video-transcode's pieces ask 4 cores of 2-core nodes.
		{"cores beyond every node", &api.AllocationMetric{NodesEvaluated: 5, NodesFiltered: 4, NodesExhausted: 1,
			DimensionExhausted: map[string]int{"cores": 1}},
			capacity{cpuMHz: 4000, memoryMiB: 8192, cores: 2, diskMiB: 10240, nodes: 1, ok: true}, true,
			[]string{"asks for 4 reserved cores", "at most 2)"}},
		{"disk beyond every node", &api.AllocationMetric{NodesEvaluated: 5, NodesFiltered: 4, NodesExhausted: 1,
			DimensionExhausted: map[string]int{"disk": 1}},
			capacity{cpuMHz: 4000, memoryMiB: 8192, cores: 8, diskMiB: 100, nodes: 1, ok: true}, true,
			[]string{"asks for 300 MiB ephemeral disk", "at most 100 MiB"}},
		{"exhausted, capacity unknown: queue", &api.AllocationMetric{NodesEvaluated: 1, NodesExhausted: 1,
			DimensionExhausted: map[string]int{"memory": 1}}, capacity{}, false, nil},
		{"a node neither filtered nor exhausted", &api.AllocationMetric{NodesEvaluated: 3, NodesFiltered: 2},
			small, false, nil},
		{"no node evaluated: nodes may join", &api.AllocationMetric{NodesAvailable: map[string]int{"dc1": 0}},
			small, false, nil},
		{"quota", &api.AllocationMetric{NodesEvaluated: 1, NodesFiltered: 1, QuotaExhausted: []string{"memory"}},
			big, false, nil},
		{"nil", nil, big, false, nil},
	} {
		t.Run(tc.name, func(t *testing.T) {
			why, never := neverPlaceable("g", "gpu-accelerated", tc.m, ask, tc.room)
			if never != tc.never {
				t.Fatalf("never = %v (%q), want %v", never, why, tc.never)
			}
			for _, w := range tc.want {
				if !strings.Contains(why, w) {
					t.Errorf("reason %q lacks %q", why, w)
				}
			}
		})
	}
}

func TestGroupAskSumsTasks(t *testing.T) {
	j := &api.Job{TaskGroups: []*api.TaskGroup{{Tasks: []*api.Task{
		{Resources: &api.Resources{CPU: new(100), MemoryMB: new(64)}},
		{Resources: &api.Resources{MemoryMB: new(32)}}, {}}}}}
	j.TaskGroups[0].EphemeralDisk = &api.EphemeralDisk{SizeMB: new(300)}
	j.TaskGroups[0].Tasks[1].Resources.Cores = new(2)
	ask := groupAsk(j)
	if *ask.CPU != 100 || *ask.MemoryMB != 96 || *ask.Cores != 2 || *ask.DiskMB != 300 {
		t.Errorf("ask = %d MHz %d MiB %d cores %d MiB disk, want 100, 96, 2, 300", *ask.CPU, *ask.MemoryMB, *ask.Cores, *ask.DiskMB)
	}
	if !inDatacenters("dc1", []string{"dc*"}) || inDatacenters("dc1", []string{"eu"}) || !inDatacenters("x", nil) {
		t.Error("inDatacenters")
	}
}

func TestUnplaceableFailsWithoutRetry(t *testing.T) {
	tr := newTestTracker(t, 2)
	submitAll(tr, 10)
	a := tr.byJob["job-a"]
	if tr.observeBlocked("job-a", 9, "old", time.Now()) != nil {
		t.Fatal("an evaluation of an earlier job version was applied")
	}
	if tr.observeBlocked("job-a", 10, "group g cannot be placed yet", time.Now()) != a {
		t.Fatal("blocked evaluation not applied")
	}
	if v := tr.settle(a, time.Time{}); v != keep {
		t.Fatalf("blocked (busy): verdict %v, want keep", v)
	}
	tr.unplaceable(a, "group g can never be placed: no node of class cpu satisfies")
	if v := tr.settle(a, time.Time{}); v != giveUp || a.state != Failed {
		t.Fatalf("never placeable: verdict %v state %v, want giveUp/failed without retries", v, a.state)
	}
	if !strings.Contains(a.reason, "can never be placed") {
		t.Errorf("reason %q", a.reason)
	}
}

func TestPlacementTimeout(t *testing.T) {
	tr := newTestTracker(t, 1)
	submitAll(tr, 10)
	a := tr.byJob["job-a"]
	t0 := time.Unix(1000, 0)
	if got := tr.placementTimeouts(t0.Add(time.Hour), time.Minute); len(got) != 0 {
		t.Fatalf("timed out a unit never blocked: %v", got)
	}
	tr.observeBlocked("job-a", 10, "group g cannot be placed yet (1 nodes exhausted memory)", t0)
	tr.observeBlocked("job-a", 10, "group g cannot be placed yet (1 nodes exhausted cpu)", t0.Add(30*time.Second))
	if got := tr.placementTimeouts(t0.Add(59*time.Second), time.Minute); len(got) != 0 {
		t.Fatalf("timed out early")
	}
	if got := tr.placementTimeouts(t0.Add(time.Hour), 0); len(got) != 0 {
		t.Fatalf("zero timeout timed out")
	}
	got := tr.placementTimeouts(t0.Add(time.Minute), time.Minute)
	if len(got) != 1 || got[0] != a {
		t.Fatalf("timeouts = %v, want job-a", got)
	}
	if v := tr.settle(a, time.Time{}); v != giveUp {
		t.Fatalf("verdict %v, want giveUp", v)
	}
	for _, w := range []string{"not placed within the placement timeout (1m00s)", "exhausted cpu"} {
		if !strings.Contains(a.reason, w) {
			t.Errorf("reason %q lacks %q", a.reason, w)
		}
	}

	// A placed allocation stops the clock.
	tr = newTestTracker(t, 1)
	submitAll(tr, 10)
	tr.observeBlocked("job-a", 10, "blocked", t0)
	tr.observeAlloc("job-a", alloc("job-a", 0, "pending", "n1", 11, 11))
	if got := tr.placementTimeouts(t0.Add(time.Hour), time.Minute); len(got) != 0 {
		t.Fatalf("timed out a placed unit")
	}
}

func TestDurationsAsPlanPrintsThem(t *testing.T) {
	for d, want := range map[time.Duration]string{
		2500 * time.Millisecond: "2.5s", 24 * time.Second: "24.0s", 5 * time.Minute: "5m00s",
		65 * time.Second: "1m05s", 62 * time.Minute: "1h02m",
	} {
		if got := formatDur(d); got != want {
			t.Errorf("formatDur(%s) = %q, want %q", d, got, want)
		}
	}
}
