package e2e

import (
	"context"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/shardwise/shardwise/e2e/cluster"
	"github.com/shardwise/shardwise/planner/catalog"
	"github.com/shardwise/shardwise/planner/plan"
)

// discover runs `shardwise executors -discover -format hcl -out FILE`
// against the cluster and loads the file as -catalog would; it returns
// the loaded catalog, the file and the summary on stderr.
func discover(t *testing.T, c *cluster.Cluster, name string, flags ...string) (*catalog.Catalog, string, string) {
	t.Helper()
	path := filepath.Join(t.TempDir(), name)
	args := append([]string{"executors", "-discover", "-format", "hcl", "-out", path}, flags...)
	_, errOut, code := cli(t, []string{"NOMAD_ADDR=" + c.NomadAddr()}, args...)
	if code != 0 {
		t.Fatalf("executors -discover exit %d\n%s", code, errOut)
	}
	cat, diags := catalog.Load(path)
	if diags.HasErrors() {
		src, _ := os.ReadFile(path)
		t.Fatalf("-catalog does not accept the discovered file: %s\n%s", diags.Error(), src)
	}
	return cat, path, errOut
}

// TestDiscoverCatalogFromCluster: discovery on the local cluster finds the
// five classes with their instance counts, shapes and the fake GPU model
// and memory; plans with the discovered catalog place as the default
// catalog does where the two agree; an ineligible node is left out and
// reported; a node added in a new class appears on the next discovery.
func TestDiscoverCatalogFromCluster(t *testing.T) {
	c := cluster.StartT(t, cluster.Options{})
	def := catalog.Default()
	cat, path, summary := discover(t, c, "discovered.hcl")
	for _, want := range def.Classes {
		got := cat.Class(want.Name)
		if got == nil {
			t.Fatalf("discovered catalog lacks %s; summary:\n%s", want.Name, summary)
		}
		// One client per class (cluster.DefaultClasses), advertising the
		// default class's CPU, memory and disk.
		if got.Instances != 1 || got.Shape.CPU != want.Shape.CPU || got.Shape.MemoryMiB != want.Shape.MemoryMiB ||
			got.Shape.DiskMiB != want.Shape.DiskMiB || got.Placement.NodeClass != want.Placement.NodeClass ||
			got.Placement.NodePool != want.Placement.NodePool {
			t.Errorf("%s: discovered instances %d shape %+v placement %s/%s; want 1, CPU %d, memory %d MiB, disk %d MiB",
				want.Name, got.Instances, got.Shape, got.Placement.NodeClass, got.Placement.NodePool,
				want.Shape.CPU, want.Shape.MemoryMiB, want.Shape.DiskMiB)
		}
	}
	t.Logf("discovery summary:\n%s", summary)
	gpu := cat.Class("gpu-accelerated")
	if gpu.Shape.GPUs != 2 || gpu.Shape.GPUMemoryMiB != 80*1024 || gpu.Placement.Device == nil ||
		gpu.Placement.Device.Name != "nvidia/gpu/fake-80gib" {
		t.Errorf("gpu-accelerated: %d GPUs of %d MiB, device %+v; want 2 x 81920 MiB nvidia/gpu/fake-80gib",
			gpu.Shape.GPUs, gpu.Shape.GPUMemoryMiB, gpu.Placement.Device)
	}
	if !strings.Contains(summary, "shard driver: yes") || strings.Contains(summary, "shard driver: NO") {
		t.Errorf("summary should report the shard driver on every class:\n%s", summary)
	}
	comparePlacement(t, cat, path, false)
	// Given what the cluster cannot report or reports differently from
	// the default catalog's assumptions (speeds, which need history;
	// instance counts and cores: one 2-core node per class here, 2 to 8
	// nodes of 4 to 16 cores assumed; bandwidth, start-up, flags), the
	// discovered node classes, pools, CPU, memory, disk and GPU device
	// place every shard of every example exactly as the default catalog.
	withSpeeds := cat.Clone()
	for _, cl := range withSpeeds.Classes {
		d := def.Class(cl.Name)
		cl.Speed, cl.Instances, cl.Shape.Cores = d.Speed, d.Instances, d.Shape.Cores
		cl.BandwidthBytes, cl.Startup, cl.Oversubscribe, cl.Service = d.BandwidthBytes, d.Startup, d.Oversubscribe, d.Service
	}
	var b strings.Builder
	if err := catalog.WriteHCL(&b, withSpeeds); err != nil {
		t.Fatal(err)
	}
	speedsPath := filepath.Join(t.TempDir(), "with-default-speeds.hcl")
	if err := os.WriteFile(speedsPath, []byte(b.String()), 0o644); err != nil {
		t.Fatal(err)
	}
	comparePlacement(t, withSpeeds, speedsPath, true)

	// A node made ineligible is left out and reported.
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	low := c.Nodes()["low-latency"]
	if _, err := c.Client().Nodes().ToggleEligibility(low, false, nil); err != nil {
		t.Fatal(err)
	}
	// A node added in a new class appears on the next discovery.
	if err := c.AddClient(ctx, cluster.Class{Name: "edge-small", CPUMHz: 4000, MemoryMiB: 4096, DiskMiB: 8192}); err != nil {
		t.Fatal(err)
	}
	// History where two cpu-bound signatures ran twice as long on io-bound
	// as on cpu-heavy (the reference) gives io-bound cpu speed 0.5, n=2.
	hist := filepath.Join(t.TempDir(), "history.jsonl")
	var lines []string
	for _, r := range []struct {
		class, sig string
		secs       int
	}{{"cpu-heavy", "a", 10}, {"io-bound", "a", 20}, {"cpu-heavy", "b", 30}, {"io-bound", "b", 60}} {
		lines = append(lines, fmt.Sprintf(`{"task":"%s","signature":"%s","node_class":"%s","runtime_seconds":%d,"cores":4,"cpu_percent":400,"exit_code":0}`,
			r.sig, r.sig, r.class, r.secs))
	}
	if err := os.WriteFile(hist, []byte(strings.Join(lines, "\n")+"\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	cat2, _, summary2 := discover(t, c, "again.hcl", "-history", hist)
	if s := cat2.Class("io-bound").Speed["cpu"]; s != 0.5 || !strings.Contains(summary2, "cpu 0.5 (history, n=2)") {
		t.Errorf("io-bound cpu speed %v from -history; summary:\n%s", s, summary2)
	}
	edge := cat2.Class("edge-small")
	if edge == nil || edge.Instances != 1 || edge.Shape.CPU != 4000 || edge.Shape.MemoryMiB != 4096 || edge.Shape.DiskMiB != 8192 {
		t.Fatalf("edge-small after adding its node: %+v\n%s", edge, summary2)
	}
	if !strings.Contains(summary2, "excluded node low-latency") || !strings.Contains(summary2, "scheduling ineligible") {
		t.Errorf("summary does not report the ineligible node:\n%s", summary2)
	}
	// The discovered file is the whole catalog (extend_default = false):
	// the default's low-latency class, whose only node is now ineligible,
	// is not merged back in, so nothing can be planned onto it.
	if cat2.Class("low-latency") != nil || !cat2.Standalone {
		t.Errorf("catalog after excluding low-latency's node: classes %v, standalone %v; want no low-latency",
			cat2.Names(), cat2.Standalone)
	}
}

// comparePlacement plans each example with the default catalog and with
// the discovered one and compares the class of every shard. The discovered
// catalog knows the cluster's real capacity (1 instance per class, the
// host's cores) and has no history, so its speeds are 1.0; it places by
// feasibility and capacity where the default places by assumed speeds.
// What must agree: the same shards, and every shard that only one class
// can run (GPU work) on that class. The rest is reported, not asserted.
// An example with a task larger than any real node (the default catalog
// assumes 16-core nodes, the cluster's have the host's cores) must fail
// to plan with the discovered catalog, naming the capacity.
func comparePlacement(t *testing.T, disc *catalog.Catalog, discPath string, strict bool) {
	t.Helper()
	graphs, err := filepath.Glob(filepath.Join(repoRoot, "examples", "*", "graph.hcl"))
	if err != nil || len(graphs) == 0 {
		t.Fatalf("examples: %v (%d)", err, len(graphs))
	}
	for _, g := range graphs {
		name := filepath.Base(filepath.Dir(g))
		a := planOf(t, "disc", g)
		out, errOut, code := cli(t, nil, "plan", "-run", "disc", "-format", "json", "-catalog", discPath, g)
		if code != 0 {
			// The default catalog assumes 16-core instances; the local
			// cluster's nodes have the host's cores, and the discovered
			// catalog says so: a task asking more fits nowhere.
			if strict || !strings.Contains(errOut, "fits no executor class") || !strings.Contains(errOut, "cores, instance has") {
				t.Errorf("%s: plan with the discovered catalog: exit %d\n%s", name, code, errOut)
			}
			t.Logf("%s: not plannable on this cluster's real capacity: %s", name, strings.TrimSpace(errOut))
			continue
		}
		var b plan.Plan
		if err := json.Unmarshal([]byte(out), &b); err != nil {
			t.Fatal(err)
		}
		classA, classB := map[string]string{}, map[string]string{}
		kind := map[string]string{}
		for _, s := range a.Shards {
			classA[strings.Join(s.Tasks, "+")] = s.Class
			kind[strings.Join(s.Tasks, "+")] = s.Kind
		}
		for _, s := range b.Shards {
			classB[strings.Join(s.Tasks, "+")] = s.Class
		}
		var same, differ []string
		for k, ca := range classA {
			cb, ok := classB[k]
			switch {
			case !ok:
				differ = append(differ, k+": not a shard with the discovered catalog")
			case ca == cb:
				same = append(same, k)
			default:
				differ = append(differ, k+": "+ca+" (default) vs "+cb+" (discovered)")
				if kind[k] == "gpu" || strict {
					t.Errorf("%s: %s shard %s placed on %s with the discovered catalog, %s with the default", name, kind[k], k, cb, ca)
				}
			}
		}
		if len(classB) != len(classA) {
			t.Errorf("%s: %d shards with the default catalog, %d with the discovered one", name, len(classA), len(classB))
		}
		sort.Strings(differ)
		t.Logf("%s: %d of %d shards on the same class; differing: %s", name, len(same), len(classA), strings.Join(differ, "; "))
	}
}
