package inventory

import (
	"bytes"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"

	"github.com/hashicorp/hcl/v2"
	"github.com/hashicorp/nomad/api"

	"github.com/shardwise/shardwise/planner/catalog"
	"github.com/shardwise/shardwise/planner/graph"
	"github.com/shardwise/shardwise/planner/history"
)

type gpu struct {
	name  string
	count int
	mib   int64
}

func node(name, class string, mhz int, memMiB int64, gpus ...gpu) *api.Node {
	n := &api.Node{
		ID: name + "-0000-id", Name: name, NodeClass: class, NodePool: "default",
		Status: api.NodeStatusReady, SchedulingEligibility: api.NodeSchedulingEligible,
		Attributes: map[string]string{"cpu.totalcompute": itoa(mhz), "memory.totalbytes": itoa(int(memMiB) << 20)},
		Drivers: map[string]*api.DriverInfo{
			"raw_exec": {Detected: true, Healthy: true},
			"shard":    {Detected: true, Healthy: true},
			"docker":   {Detected: false},
		},
		NodeResources: &api.NodeResources{
			Cpu:    api.NodeCpuResources{CpuShares: int64(mhz), TotalCpuCores: 4},
			Memory: api.NodeMemoryResources{MemoryMB: memMiB},
			Disk:   api.NodeDiskResources{DiskMB: 10240},
		},
		ReservedResources: &api.NodeReservedResources{Memory: api.NodeReservedMemoryResources{MemoryMB: 0}},
	}
	for _, g := range gpus {
		mib := g.mib
		d := &api.NodeDeviceResource{Vendor: "nvidia", Type: "gpu", Name: g.name,
			Attributes: map[string]*api.Attribute{"memory": {IntVal: &mib, Unit: "MiB"}}}
		for i := 0; i < g.count; i++ {
			d.Instances = append(d.Instances, &api.NodeDevice{ID: g.name + itoa(i), Healthy: true})
		}
		n.NodeResources.Devices = append(n.NodeResources.Devices, d)
	}
	return n
}

func itoa(i int) string { return strconv.Itoa(i) }

func TestFromNodesClassesShapesDevicesAndExclusions(t *testing.T) {
	down := node("cpu-3", "cpu-heavy", 48000, 32768)
	down.Status = api.NodeStatusDown
	inel := node("cpu-4", "cpu-heavy", 48000, 32768)
	inel.SchedulingEligibility = api.NodeSchedulingIneligible
	nodes := []*api.Node{
		node("cpu-1", "cpu-heavy", 48000, 32768),
		node("cpu-2", "cpu-heavy", 48000, 32768),
		down, inel,
		node("gpu-1", "gpu-accelerated", 40000, 131072, gpu{"fake-80gib", 2, 81920}),
	}
	rep, err := FromNodes(nodes, Options{})
	if err != nil {
		t.Fatal(err)
	}
	cpu := rep.Catalog.Class("cpu-heavy")
	if cpu == nil || cpu.Instances != 2 || cpu.Shape.CPU != 48000 || cpu.Shape.Cores != 4 || cpu.Shape.MemoryMiB != 32768 || cpu.Shape.DiskMiB != 10240 {
		t.Fatalf("cpu-heavy = %+v", cpu)
	}
	g := rep.Catalog.Class("gpu-accelerated")
	if g == nil || g.Shape.GPUs != 2 || g.Shape.GPUMemoryMiB != 81920 || g.Placement.Device == nil || g.Placement.Device.Name != "nvidia/gpu/fake-80gib" {
		t.Fatalf("gpu-accelerated = %+v", g)
	}
	if len(rep.Excluded) != 2 || rep.Excluded[0].Name != "cpu-3" || rep.Excluded[0].Reason != "status down" ||
		rep.Excluded[1].Reason != "scheduling ineligible" {
		t.Fatalf("excluded = %+v", rep.Excluded)
	}
	if rep.Catalog.Reference != "cpu-heavy" {
		t.Errorf("reference = %q", rep.Catalog.Reference)
	}
	for _, c := range rep.Classes {
		if !c.Shard || strings.Join(c.Drivers, ",") != "raw_exec,shard" {
			t.Errorf("%s drivers %v shard %v", c.Name, c.Drivers, c.Shard)
		}
	}
	if len(rep.Notes) != 0 {
		t.Errorf("unexpected notes %q", rep.Notes)
	}
	loadBack(t, rep)
}

// loadBack writes the report's HCL and loads it with catalog.Load, as
// -catalog does, and checks the discovered classes came through.
func loadBack(t *testing.T, rep *Report) *catalog.Catalog {
	t.Helper()
	var b bytes.Buffer
	if err := rep.WriteHCL(&b); err != nil {
		t.Fatal(err)
	}
	path := filepath.Join(t.TempDir(), "discovered.hcl")
	if err := os.WriteFile(path, b.Bytes(), 0o644); err != nil {
		t.Fatal(err)
	}
	cat, diags := catalog.Load(path)
	if diags.HasErrors() {
		t.Fatalf("load discovered catalog: %s\n%s", diags.Error(), b.String())
	}
	for _, want := range rep.Catalog.Classes {
		got := cat.Class(want.Name)
		if got == nil || got.Shape != want.Shape || got.Instances != want.Instances || got.Placement.NodeClass != want.Placement.NodeClass {
			t.Fatalf("class %s after load = %+v, want %+v", want.Name, got, want)
		}
	}
	return cat
}

func TestFromNodesSplitsDifferentShapes(t *testing.T) {
	nodes := []*api.Node{
		node("a", "batch", 8000, 16384),
		node("b", "batch", 16000, 65536),
		node("c", "batch", 8000, 16384),
	}
	rep, err := FromNodes(nodes, Options{})
	if err != nil {
		t.Fatal(err)
	}
	if got := strings.Join(rep.Catalog.Names(), ","); got != "batch-1,batch-2" {
		t.Fatalf("classes %s", got)
	}
	small, big := rep.Catalog.Class("batch-1"), rep.Catalog.Class("batch-2")
	if small.Instances != 2 || small.Shape.CPU != 8000 || big.Instances != 1 || big.Shape.CPU != 16000 {
		t.Fatalf("batch-1 %+v batch-2 %+v", small, big)
	}
	if len(small.Placement.Constraints) != 2 || small.Placement.Constraints[0].Attribute != "${attr.cpu.totalcompute}" || small.Placement.Constraints[0].Value != "8000" {
		t.Fatalf("batch-1 constraints %+v", small.Placement.Constraints)
	}
	if len(rep.Notes) != 1 || !strings.Contains(rep.Notes[0], `node class "batch" has nodes of 2 different shapes`) ||
		!strings.Contains(rep.Notes[0], "batch-1 = 8000 MHz") || !strings.Contains(rep.Notes[0], "(a, c)") {
		t.Fatalf("notes %q", rep.Notes)
	}
	// No class is the default catalog's reference: the first by name is.
	if rep.Catalog.Reference != "batch-1" {
		t.Errorf("reference %q", rep.Catalog.Reference)
	}
	loadBack(t, rep)
}

func TestFromNodesWithoutNodeClass(t *testing.T) {
	rep, err := FromNodes([]*api.Node{node("x", "", 8000, 16384), node("y", "", 8000, 16384)}, Options{})
	if err != nil {
		t.Fatal(err)
	}
	if got := strings.Join(rep.Catalog.Names(), ","); got != "unclassed" {
		t.Fatalf("classes %s", got)
	}
	if len(rep.Notes) != 1 || !strings.Contains(rep.Notes[0], "2 node(s) have no node class (x, y)") {
		t.Fatalf("notes %q", rep.Notes)
	}
	var b bytes.Buffer
	if err := rep.WriteSummary(&b); err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(b.String(), `note: 2 node(s) have no node class`) {
		t.Fatalf("summary:\n%s", b.String())
	}
	loadBack(t, rep)
}

func TestFromNodesSplitsGPUModels(t *testing.T) {
	n := node("g", "mixed", 32000, 65536, gpu{"a100", 2, 81920}, gpu{"t4", 1, 16384})
	rep, err := FromNodes([]*api.Node{n}, Options{})
	if err != nil {
		t.Fatal(err)
	}
	if got := strings.Join(rep.Catalog.Names(), ","); got != "mixed-a100,mixed-t4" {
		t.Fatalf("classes %s", got)
	}
	a, t4 := rep.Catalog.Class("mixed-a100"), rep.Catalog.Class("mixed-t4")
	if a.Shape.GPUs != 2 || a.Placement.Device.Name != "nvidia/gpu/a100" || a.Shape.GPUMemoryMiB != 81920 ||
		t4.Shape.GPUs != 1 || t4.Placement.Device.Name != "nvidia/gpu/t4" || t4.Shape.GPUMemoryMiB != 16384 {
		t.Fatalf("a100 %+v t4 %+v", a, t4)
	}
	if len(rep.Notes) != 1 || !strings.Contains(rep.Notes[0], "2 GPU models") {
		t.Fatalf("notes %q", rep.Notes)
	}
	loadBack(t, rep)
}

func TestFromNodesNoUsableNode(t *testing.T) {
	n := node("a", "c", 8000, 16384)
	n.Drain = true
	_, err := FromNodes([]*api.Node{n}, Options{})
	if err == nil || !strings.Contains(err.Error(), "a (draining)") {
		t.Fatalf("err = %v", err)
	}
}

func TestSpeedsFromHistory(t *testing.T) {
	nodes := []*api.Node{node("c1", "cpu-heavy", 48000, 32768), node("s1", "slow", 8000, 32768), node("o1", "other", 8000, 32768)}
	var recs []history.Record
	add := func(class, sig string, secs ...float64) {
		for _, s := range secs {
			recs = append(recs, history.Record{Task: sig, Signature: sig, NodeClass: class, RuntimeSeconds: s, Cores: 4, CPUPercent: 400})
		}
	}
	// Two cpu-bound signatures run twice as long on slow: speed 0.5, n=2.
	add("cpu-heavy", "sig-a", 10, 10)
	add("slow", "sig-a", 20, 20)
	add("cpu-heavy", "sig-b", 30)
	add("slow", "sig-b", 60)
	rep, err := FromNodes(nodes, Options{Records: recs})
	if err != nil {
		t.Fatal(err)
	}
	slow := rep.Classes[2]
	if slow.Name != "slow" {
		t.Fatalf("classes %+v", rep.Catalog.Names())
	}
	cpu := slow.Speeds[0]
	if cpu.Kind != graph.KindCPU || cpu.Speed != 0.5 || cpu.N != 2 {
		t.Fatalf("slow cpu speed %+v", cpu)
	}
	if m := slow.Speeds[1]; m.Kind != graph.KindMemory || m.Speed != 1 || !m.Default() {
		t.Fatalf("slow memory speed %+v", m)
	}
	if o := rep.Classes[1]; o.Name != "other" || !o.Speeds[0].Default() {
		t.Fatalf("other %+v", o)
	}
	if r := rep.Classes[0]; !r.Speeds[0].Reference {
		t.Fatalf("cpu-heavy %+v", r)
	}
	var b bytes.Buffer
	if err := rep.WriteHCL(&b); err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{"cpu 0.5 (history, n=2)", "memory 1 (default, no history)", "cpu 1 (reference class)"} {
		if !strings.Contains(b.String(), want) {
			t.Errorf("HCL lacks %q:\n%s", want, b.String())
		}
	}
	cat := loadBack(t, rep)
	if s := cat.Class("slow").Speed[graph.KindCPU]; s != 0.5 {
		t.Errorf("loaded slow cpu speed %v", s)
	}
}

// TestNoGPUClassDoesNotInheritDefaultDevice: a node class named like the
// default's GPU class but without GPUs loads, through -catalog's merge
// over the default, as a class without GPUs or device.
func TestNoGPUClassDoesNotInheritDefaultDevice(t *testing.T) {
	rep, err := FromNodes([]*api.Node{node("g", "gpu-accelerated", 8000, 16384)}, Options{})
	if err != nil {
		t.Fatal(err)
	}
	cat := loadBack(t, rep)
	if g := cat.Class("gpu-accelerated"); g.Shape.GPUs != 0 || g.Placement.Device != nil {
		t.Fatalf("gpu-accelerated after load: %d GPUs, device %+v", g.Shape.GPUs, g.Placement.Device)
	}
}

// TestFromNodesUnknownReference: a reference class that was not
// discovered is an error naming it and the classes found (it used to read
// "discovered catalog is invalid: <nil>: Unknown reference class; ...").
func TestFromNodesUnknownReference(t *testing.T) {
	nodes := []*api.Node{node("a", "cpu-heavy", 8000, 16384), node("b", "io-bound", 8000, 16384)}
	_, err := FromNodes(nodes, Options{Reference: "nope"})
	want := `reference class "nope" is not among the discovered classes: cpu-heavy, io-bound`
	if err == nil || err.Error() != want {
		t.Fatalf("err = %v, want %q", err, want)
	}
}

// TestDiagText: diagnostics without a range read as words, not "<nil>".
func TestDiagText(t *testing.T) {
	diags := hcl.Diagnostics{
		{Severity: hcl.DiagError, Summary: "Bad speed", Detail: "speed cpu is 0."},
		{Severity: hcl.DiagWarning, Summary: "Odd", Detail: "ignored"},
		{Severity: hcl.DiagError, Summary: "Empty"},
	}
	if got, want := diagText(diags), "Bad speed: speed cpu is 0.; Empty"; got != want {
		t.Errorf("diagText = %q, want %q", got, want)
	}
}
