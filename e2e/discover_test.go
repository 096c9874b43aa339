package e2e

import (
	"context"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/shardwise/shardwise/e2e/cluster"
	"github.com/shardwise/shardwise/planner/catalog"
)

// discover runs `shardwise executors -discover -format hcl -out FILE`
// against the cluster and loads the file as -catalog would; it returns
// the loaded catalog, the file and the summary on stderr.
func discover(t *testing.T, c *cluster.Cluster, name string) (*catalog.Catalog, string, string) {
	t.Helper()
	path := filepath.Join(t.TempDir(), name)
	_, errOut, code := cli(t, []string{"NOMAD_ADDR=" + c.NomadAddr()}, "executors", "-discover", "-format", "hcl", "-out", path)
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
	gpu := cat.Class("gpu-accelerated")
	if gpu.Shape.GPUs != 2 || gpu.Shape.GPUMemoryMiB != 80*1024 || gpu.Placement.Device == nil ||
		gpu.Placement.Device.Name != "nvidia/gpu/fake-80gib" {
		t.Errorf("gpu-accelerated: %d GPUs of %d MiB, device %+v; want 2 x 81920 MiB nvidia/gpu/fake-80gib",
			gpu.Shape.GPUs, gpu.Shape.GPUMemoryMiB, gpu.Placement.Device)
	}
	if !strings.Contains(summary, "shard driver: yes") || strings.Contains(summary, "shard driver: NO") {
		t.Errorf("summary should report the shard driver on every class:\n%s", summary)
	}
	comparePlacement(t, def, cat, path)

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
	cat2, _, summary2 := discover(t, c, "again.hcl")
	edge := cat2.Class("edge-small")
	if edge == nil || edge.Instances != 1 || edge.Shape.CPU != 4000 || edge.Shape.MemoryMiB != 4096 || edge.Shape.DiskMiB != 8192 {
		t.Fatalf("edge-small after adding its node: %+v\n%s", edge, summary2)
	}
	if !strings.Contains(summary2, "excluded node low-latency") || !strings.Contains(summary2, "scheduling ineligible") {
		t.Errorf("summary does not report the ineligible node:\n%s", summary2)
	}
}

// comparePlacement plans each example with the default catalog and with
// the discovered one and compares the class of every shard. The discovered
// catalog knows the cluster's real capacity (1 instance per class, the
// host's cores) and has no history, so its speeds are 1.0; it places by
// feasibility and capacity where the default places by assumed speeds.
// What must agree: the same shards, and every shard that only one class
// can run (GPU work) on that class. The rest is reported, not asserted.
func comparePlacement(t *testing.T, def, disc *catalog.Catalog, discPath string) {
	t.Helper()
	graphs, err := filepath.Glob(filepath.Join(repoRoot, "examples", "*", "graph.hcl"))
	if err != nil || len(graphs) == 0 {
		t.Fatalf("examples: %v (%d)", err, len(graphs))
	}
	for _, g := range graphs {
		name := filepath.Base(filepath.Dir(g))
		a := planOf(t, "disc", g)
		b := planOf(t, "disc", g, "-catalog", discPath)
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
				if kind[k] == "gpu" {
					t.Errorf("%s: GPU shard %s placed on %s with the discovered catalog, %s with the default", name, k, cb, ca)
				}
			}
		}
		sort.Strings(differ)
		t.Logf("%s: %d of %d shards on the same class; differing: %s", name, len(same), len(classA), strings.Join(differ, "; "))
	}
}
