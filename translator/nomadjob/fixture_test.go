package nomadjob

import (
	"fmt"
	"testing"

	"github.com/hashicorp/nomad/api"

	"github.com/shardwise/shardwise/planner/catalog"
	"github.com/shardwise/shardwise/planner/graph"
	"github.com/shardwise/shardwise/planner/plan"
)

// awkward is an argument that breaks naive shell quoting and HCL
// templating alike.
const awkward = `it's "quoted" $HOME`

// testCatalog has one class per placement feature:
//
//	cpu    node_class + a class constraint, no oversubscription
//	mem    node_pool only, oversubscription, own datacenters
//	gpu    node_class + node_pool + nvidia/gpu device with a memory constraint
//	svc    node_class + a distinct_hosts constraint, for services
//	cores  whole-core class
//	bare   no placement at all
func testCatalog() *catalog.Catalog {
	return &catalog.Catalog{Classes: []*catalog.Class{
		{Name: "cpu", Instances: 4,
			Placement: catalog.Placement{NodeClass: "cpu", Constraints: []catalog.Constraint{{Attribute: "${attr.kernel.name}", Value: "linux"}}},
			Shape:     catalog.Shape{CPU: 8000, MemoryMiB: 16384, DiskMiB: 100000}},
		{Name: "mem", Instances: 2, Oversubscribe: true,
			Placement: catalog.Placement{NodePool: "highmem", Datacenters: []string{"dc2"}},
			Shape:     catalog.Shape{CPU: 4000, MemoryMiB: 65536, DiskMiB: 100000}},
		{Name: "gpu", Instances: 1,
			Placement: catalog.Placement{NodeClass: "gpu", NodePool: "gpu", Device: &catalog.Device{
				Name: "nvidia/gpu", Constraints: []catalog.Constraint{{Attribute: "${device.attr.memory}", Operator: ">=", Value: "16 GiB"}}}},
			Shape: catalog.Shape{CPU: 16000, MemoryMiB: 131072, GPUs: 4, GPUMemoryMiB: 40960}},
		{Name: "svc", Instances: 3, Service: true,
			Placement: catalog.Placement{NodeClass: "svc", Constraints: []catalog.Constraint{{Operator: "distinct_hosts", Value: "true"}}},
			Shape:     catalog.Shape{CPU: 2000, MemoryMiB: 4096}},
		{Name: "cores", Instances: 1,
			Placement: catalog.Placement{NodeClass: "cores"},
			Shape:     catalog.Shape{Cores: 8, MemoryMiB: 32768}},
		{Name: "bare", Instances: 1},
	}}
}

// testGraph has one task per feature. fetch and prep are fused; they set
// MODE differently, so prep's value must reach it per command.
func testGraph(t testing.TB) *graph.Graph {
	g := graph.New("demo")
	tasks := []*graph.Task{
		{Name: "fetch", Command: "curl", Args: []string{"-fsSL", "-o", "in.bin", "https://example.com/in?a=1&b=${x}"},
			Env: map[string]string{"MODE": "fast", "TOKEN_FILE": "${NOMAD_SECRETS_DIR}/t"},
			Artifacts: []graph.Artifact{{Source: "https://example.com/tool.tgz", Destination: "local/tool",
				Options: map[string]string{"checksum": "sha256:abcd"}}}},
		{Name: "prep", Command: "python3", Args: []string{"prep.py", awkward, "", "a b", "%{x}", "$(id)"},
			Env:     map[string]string{"MODE": "slow", "lib.path": "/opt/lib"},
			Outputs: []graph.Output{{Name: "features", Path: "build/features.parquet"}}},
		{Name: "train", Command: "/opt/bin/train", Args: []string{"--epochs", "3"}},
		{Name: "map", Command: "mapper", Args: []string{"--piece", "${NOMAD_ALLOC_INDEX}"},
			Split: &graph.Split{InputBytes: 4000}},
		{Name: "serve", Command: "server", Args: []string{"--port", "8080"}, Type: graph.TypeService},
		{Name: "big", Command: "sort", Args: []string{"-S", "80%", "big.txt"}},
		{Name: "crunch", Command: "crunch"},
		{Name: "plain", Command: "true"},
	}
	for _, tk := range tasks {
		if err := g.AddTask(tk); err != nil {
			t.Fatal(err)
		}
	}
	return g
}

// shard returns a batch shard of one or more tasks on class with modest
// resources.
func shard(id, class string, tasks ...string) *plan.Shard {
	return &plan.Shard{
		ID: id, Job: "demo-" + id, Tasks: tasks, Signature: tasks[0], Class: class, Type: "batch", Kind: "cpu",
		Resources: plan.Resources{
			CPU:       plan.Estimate{Value: 1200.4, Source: plan.SourceHint},
			MemoryMiB: plan.Estimate{Value: 512, Source: plan.SourceDefault},
			DiskMiB:   2048,
		},
	}
}

// testPlan uses every feature: a fused shard, a GPU shard, a 4-way split
// with uneven pieces, a service, an oversubscribing shard, a whole-core
// shard and a shard with no placement, joined by channels.
func testPlan() *plan.Plan {
	fused := shard("prep", "cpu", "fetch", "prep")
	fused.Signature = "fetch+prep"
	gpu := shard("train", "gpu", "train")
	gpu.Resources.GPUs = 2
	gpu.Resources.GPUMemoryMiB = 20480
	gpu.Resources.MemoryMiB.Value = 30000
	gpu.Upstream = []string{"prep"}
	svc := shard("serve", "svc", "serve")
	svc.Type = "service"
	big := shard("big", "mem", "big")
	big.Resources.MemoryMiB.Value = 50000 // 1.5x is 75000, capped at 65536
	crunch := shard("crunch", "cores", "crunch")
	crunch.Resources.Cores = 4
	plain := shard("plain", "bare", "plain")
	plain.Resources = plan.Resources{}
	shards := []*plan.Shard{fused, gpu, svc, big, crunch, plain}
	for i := 0; i < 4; i++ {
		s := shard(fmt.Sprintf("map-%d", i), "cpu", "map")
		s.Job = "demo-map"
		s.Split = &plan.Split{Task: "map", Index: 3 - i, Count: 4, Bytes: int64(1000 + (3-i)*10)}
		s.ID = fmt.Sprintf("map-%d", 3-i)
		s.Resources.MemoryMiB.Value = float64(600 + i)
		s.Upstream = []string{"prep"}
		shards = append(shards, s)
	}
	return &plan.Plan{
		Schema: plan.SchemaVersion, Graph: "demo", Run: "r-20250101",
		Datacenters: []string{"dc1"}, Region: "global", Namespace: "default", Priority: 70,
		Shards: shards,
		Channels: []*plan.Channel{
			{ID: "c1", From: "prep", To: "train", FromTask: "prep", Output: "features", ToTask: "train", Path: "data/features", Bytes: 1 << 30, BytesSource: plan.BytesDeclared},
			{ID: "c2", From: "prep", To: "map-0", FromTask: "prep", ToTask: "map", Bytes: 1000, Stream: true},
		},
	}
}

// buildJobs runs Jobs on the fixture and fails the test on error.
func buildJobs(t testing.TB, opts Options) map[string]*api.Job {
	t.Helper()
	jobs, err := Jobs(testPlan(), testGraph(t), testCatalog(), opts)
	if err != nil {
		t.Fatalf("Jobs: %v", err)
	}
	byID := map[string]*api.Job{}
	for _, j := range jobs {
		byID[*j.ID] = j
	}
	return byID
}

// only returns the single group and task of a job.
func only(t testing.TB, j *api.Job) (*api.TaskGroup, *api.Task) {
	t.Helper()
	if len(j.TaskGroups) != 1 || len(j.TaskGroups[0].Tasks) != 1 {
		t.Fatalf("job %s: want one group with one task, got %d groups", *j.ID, len(j.TaskGroups))
	}
	return j.TaskGroups[0], j.TaskGroups[0].Tasks[0]
}
