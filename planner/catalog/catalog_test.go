package catalog

import (
	"bytes"
	"fmt"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/hashicorp/hcl/v2"

	"github.com/shardwise/shardwise/planner/graph"
)

func TestDefaultParsesAndValidates(t *testing.T) {
	c := Default()
	if diags := c.Validate(); len(diags) != 0 {
		t.Fatalf("default catalog: %s", diags.Error())
	}
	want := []string{"cpu-heavy", "memory-intensive", "io-bound", "gpu-accelerated", "low-latency"}
	if got := c.Names(); !reflect.DeepEqual(got, want) {
		t.Fatalf("classes = %v, want %v", got, want)
	}
	if c.Reference != "cpu-heavy" || c.ReferenceClass() == nil {
		t.Fatalf("reference = %q", c.Reference)
	}
	for _, cl := range c.Classes {
		if cl.Placement.NodeClass != cl.Name {
			t.Errorf("%s: node_class = %q, want the class name", cl.Name, cl.Placement.NodeClass)
		}
		if cl.Instances < 1 || cl.Shape.MemoryMiB <= 0 || cl.Shape.CPU <= 0 || cl.BandwidthBytes <= 0 {
			t.Errorf("%s: implausible shape %+v instances %d", cl.Name, cl.Shape, cl.Instances)
		}
	}
	gpu := c.Class("gpu-accelerated")
	if gpu.Shape.GPUs != 1 || gpu.Shape.GPUMemoryMiB != 80<<10 || !gpu.CanRunGPU() {
		t.Errorf("gpu-accelerated shape = %+v", gpu.Shape)
	}
	wantDev := &Device{Name: "nvidia/gpu", Constraints: []Constraint{{Attribute: "${device.attr.memory}", Operator: ">=", Value: "40 GiB"}}}
	if got := stripDevice(gpu.Placement.Device); !reflect.DeepEqual(got, wantDev) {
		t.Errorf("gpu device = %+v, want %+v", got, wantDev)
	}
	if c.Class("cpu-heavy").CanRunGPU() {
		t.Error("cpu-heavy must not run GPU work")
	}
	if got := c.Class("memory-intensive").SpeedFor(graph.KindMemory); got != 1.6 {
		t.Errorf("memory-intensive memory speed = %g", got)
	}
	if got := c.Class("low-latency").Startup; got != time.Second {
		t.Errorf("low-latency startup = %s", got)
	}
}

func TestDefaultReturnsCopies(t *testing.T) {
	a := Default()
	a.Classes[0].Speed[graph.KindCPU] = 99
	a.Classes[3].Placement.Device.Constraints[0].Value = "1 GiB"
	b := Default()
	if b.Classes[0].Speed[graph.KindCPU] == 99 || b.Classes[3].Placement.Device.Constraints[0].Value != "40 GiB" {
		t.Fatal("Default shares state between calls")
	}
}

const overrideSrc = `
reference = "io-bound"

executor "cpu-heavy" {
  instances = 2
  instance {
    memory = "64GiB"
  }
  performance {
    cpu = 2.0
  }
  constraint {
    attribute = "${attr.cpu.arch}"
    value     = "amd64"
  }
}

executor "gpu-accelerated" {
  device "nvidia/gpu/a100" {}
}

executor "low-latency" {
  instance {
    gpus = 0
  }
}

executor "arm-batch" {
  description = "Graviton spot nodes"
  datacenters = ["eu-1", "eu-2"]
  instance {
    cpu    = 32000
    memory = "16GiB"
  }
  instances = 20
}
`

func TestMergeOverridesAndExtends(t *testing.T) {
	user, diags := Parse("user.hcl", []byte(overrideSrc))
	if diags.HasErrors() {
		t.Fatal(diags.Error())
	}
	c := Merge(Default(), user)
	if diags := c.Validate(); len(diags) != 0 {
		t.Fatal(diags.Error())
	}
	if c.Reference != "io-bound" {
		t.Errorf("reference = %q", c.Reference)
	}
	cpu := c.Class("cpu-heavy")
	if cpu.Instances != 2 || cpu.Shape.MemoryMiB != 64<<10 {
		t.Errorf("overridden values lost: instances %d memory %d", cpu.Instances, cpu.Shape.MemoryMiB)
	}
	if cpu.Shape.CPU != 48000 || cpu.Shape.Cores != 16 || cpu.SpeedFor(graph.KindIO) != 1 || cpu.Startup != 5*time.Second {
		t.Errorf("inherited values lost: %+v io %g startup %s", cpu.Shape, cpu.SpeedFor(graph.KindIO), cpu.Startup)
	}
	if cpu.SpeedFor(graph.KindCPU) != 2 || cpu.CanRunGPU() {
		t.Errorf("speed override: cpu %g", cpu.SpeedFor(graph.KindCPU))
	}
	if len(cpu.Placement.Constraints) != 1 || cpu.Placement.Constraints[0].Value != "amd64" || cpu.Placement.Constraints[0].Operator != "=" {
		t.Errorf("constraints = %+v", cpu.Placement.Constraints)
	}
	if cpu.DefRange.Filename != "user.hcl" {
		t.Errorf("DefRange should point at the user's block, got %s", cpu.DefRange)
	}
	gpu := c.Class("gpu-accelerated")
	if gpu.Placement.Device.Name != "nvidia/gpu/a100" || len(gpu.Placement.Device.Constraints) != 0 || gpu.Shape.GPUs != 1 {
		t.Errorf("device replacement: %+v", gpu.Placement.Device)
	}
	arm := c.Class("arm-batch")
	if arm == nil || c.Names()[5] != "arm-batch" {
		t.Fatalf("new class not appended: %v", c.Names())
	}
	if arm.Placement.NodePool != DefaultNodePool || arm.BandwidthBytes != DefaultBandwidthBytes ||
		arm.Startup != DefaultStartupSeconds*time.Second || arm.SpeedFor(graph.KindCPU) != 1 {
		t.Errorf("new class defaults: %+v", arm)
	}
	if !reflect.DeepEqual(arm.Placement.Datacenters, []string{"eu-1", "eu-2"}) {
		t.Errorf("datacenters = %v", arm.Placement.Datacenters)
	}
	if Default().Class("cpu-heavy").Instances != 8 {
		t.Error("Merge changed the default catalog")
	}
}

func TestMergeGPUsZeroDropsDevice(t *testing.T) {
	user, diags := Parse("user.hcl", []byte(`executor "gpu-accelerated" {
  instance {
    gpus       = 0
    gpu_memory = "0MiB"
  }
}`))
	if diags.HasErrors() {
		t.Fatal(diags.Error())
	}
	c := Merge(Default(), user)
	if diags := c.Validate(); diags.HasErrors() {
		t.Fatal(diags.Error())
	}
	if c.Class("gpu-accelerated").Placement.Device != nil {
		t.Error("device kept after gpus = 0")
	}
}

func TestLoad(t *testing.T) {
	c, diags := Load("")
	if diags.HasErrors() || len(c.Classes) != 5 {
		t.Fatalf("Load(\"\"): %v", diags)
	}
	path := filepath.Join(t.TempDir(), "executors.hcl")
	if err := os.WriteFile(path, []byte(overrideSrc), 0o644); err != nil {
		t.Fatal(err)
	}
	c, diags = Load(path)
	if diags.HasErrors() {
		t.Fatal(diags.Error())
	}
	if len(c.Classes) != 6 || c.Class("cpu-heavy").Instances != 2 {
		t.Fatalf("Load merged wrongly: %v", c.Names())
	}
}

// TestBadInputs checks one fixture per fault kind: the summary, and the
// file:line:col the diagnostic points at.
func TestBadInputs(t *testing.T) {
	tests := []struct {
		name, src, summary string
		line, col          int
	}{
		{"syntax", "executor \"x\" {\n  instances = \n}", "Invalid expression", 2, 15},
		{"unknown attribute", "executor \"x\" {\n  cpus = 4\n}", "Unsupported argument", 2, 3},
		{"unknown block", "executor \"x\" {\n  gpu {}\n}", "Unsupported block type", 2, 3},
		{"unknown top-level", "references = \"x\"", "Unsupported argument", 1, 1},
		{"wrong type", "executor \"cpu-heavy\" {\n  instances = \"many\"\n}", "Invalid value for instances", 2, 15},
		{"fractional", "executor \"cpu-heavy\" {\n  instances = 2.5\n}", "Invalid value for instances", 2, 15},
		{"bad size", "executor \"cpu-heavy\" {\n  instance {\n    memory = \"32GB!\"\n  }\n}", "Invalid size for memory", 3, 14},
		{"lower-case b", "executor \"cpu-heavy\" {\n  instance {\n    disk = \"10gb\"\n  }\n}", "Invalid size for disk", 3, 12},
		{"bad duration", "executor \"cpu-heavy\" {\n  performance {\n    startup = \"soon\"\n  }\n}", "Invalid duration for startup", 3, 15},
		{"bad operator", "executor \"cpu-heavy\" {\n  constraint {\n    attribute = \"${node.class}\"\n    operator = \"~=\"\n    value = \"x\"\n  }\n}", "Unknown constraint operator", 4, 16},
		{"constraint without attribute", "executor \"cpu-heavy\" {\n  constraint {\n    value = \"x\"\n  }\n}", "Missing constraint attribute", 2, 3},
		{"interpolated call", "executor \"cpu-heavy\" {\n  constraint {\n    attribute = \"${upper(node.class)}\"\n  }\n}", "Function calls not allowed", 3, 20},
		{"duplicate executor", "executor \"a\" {}\nexecutor \"a\" {}", "Duplicate executor class", 2, 10},
		{"duplicate instance", "executor \"cpu-heavy\" {\n  instance {}\n  instance {}\n}", "Duplicate instance block", 3, 3},
		{"duplicate device", "executor \"gpu-accelerated\" {\n  device \"a\" {}\n  device \"b\" {}\n}", "Duplicate device block", 3, 3},
		{"instances zero", "executor \"cpu-heavy\" {\n  instances = 0\n}", "Invalid instances", 2, 15},
		{"memory zero", "executor \"cpu-heavy\" {\n  instance {\n    memory = \"0GiB\"\n  }\n}", "Invalid instance.memory", 3, 14},
		{"new class without shape", "executor \"new\" {\n  instances = 1\n}", "Invalid instance.cpu", 1, 1},
		{"speed zero", "executor \"cpu-heavy\" {\n  performance {\n    io = 0\n  }\n}", "Invalid speed", 3, 10},
		{"gpu speed negative", "executor \"cpu-heavy\" {\n  performance {\n    gpu = -1\n  }\n}", "Invalid speed", 3, 11},
		{"bandwidth zero", "executor \"cpu-heavy\" {\n  performance {\n    bandwidth = \"0B\"\n  }\n}", "Invalid bandwidth", 3, 17},
		{"unknown reference", "reference = \"fast\"", "Unknown reference class", 1, 13},
		{"device without gpus", "executor \"cpu-heavy\" {\n  device \"nvidia/gpu\" {}\n}", "Device without GPUs", 2, 3},
		{"gpus without device", "executor \"cpu-heavy\" {\n  instance {\n    gpus = 2\n  }\n}", "GPUs without a device", 3, 12},
		{"gpu memory without gpus", "executor \"cpu-heavy\" {\n  instance {\n    gpu_memory = \"16GiB\"\n  }\n}", "GPU memory without GPUs", 3, 18},
		{"bad name", "executor \"Big_Box\" {\n  instance {\n    cpu = 1000\n    memory = \"1GiB\"\n  }\n  instances = 1\n}", "Invalid executor name", 1, 1},
		{"negative cores", "executor \"cpu-heavy\" {\n  instance {\n    cores = -2\n  }\n}", "Invalid instance.cores", 3, 13},
		{"extend_default not a bool", "extend_default = \"no\"", "Invalid value for extend_default", 1, 18},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			diags := loadSource(tt.src)
			d := firstError(diags)
			if d == nil {
				t.Fatalf("no error; diags: %v", diags)
			}
			if d.Summary != tt.summary {
				t.Errorf("summary = %q, want %q (%s)", d.Summary, tt.summary, d.Detail)
			}
			if d.Subject == nil {
				t.Fatalf("no position: %s", d.Error())
			}
			if d.Subject.Filename != "user.hcl" || d.Subject.Start.Line != tt.line || d.Subject.Start.Column != tt.col {
				t.Errorf("at %s, want user.hcl:%d,%d", d.Subject, tt.line, tt.col)
			}
		})
	}
}

// TestLoadStandalone: extend_default = false makes the file the whole
// catalog: none of the default classes, new classes take the package
// defaults, and the file round-trips with the attribute.
func TestLoadStandalone(t *testing.T) {
	src := `extend_default = false
reference = "edge"
executor "edge" {
  node_class = "edge"
  instance {
    cpu    = 4000
    memory = "4GiB"
  }
  instances = 3
}
`
	path := filepath.Join(t.TempDir(), "discovered.hcl")
	if err := os.WriteFile(path, []byte(src), 0o644); err != nil {
		t.Fatal(err)
	}
	c, diags := Load(path)
	if diags.HasErrors() {
		t.Fatal(diags.Error())
	}
	if got := c.Names(); len(got) != 1 || got[0] != "edge" || !c.Standalone {
		t.Fatalf("classes %v standalone %v; want [edge] alone", got, c.Standalone)
	}
	if e := c.Class("edge"); e.Instances != 3 || e.BandwidthBytes <= 0 || e.Startup <= 0 {
		t.Errorf("edge = %+v; want 3 instances and the package's default bandwidth and start-up", e)
	}
	var buf bytes.Buffer
	if err := WriteHCL(&buf, c); err != nil {
		t.Fatal(err)
	}
	back, diags := Parse("written.hcl", buf.Bytes())
	if diags.HasErrors() || !back.Standalone || len(back.Classes) != 1 {
		t.Fatalf("round trip lost extend_default: %v\n%s", diags, buf.String())
	}
	// extend_default = true is the merging default.
	merged, diags := Parse("user.hcl", []byte("extend_default = true\n"+overrideSrc))
	if diags.HasErrors() || merged.Standalone {
		t.Fatalf("extend_default = true: standalone %v, %v", merged.Standalone, diags)
	}
}

func TestParseFileMissing(t *testing.T) {
	_, diags := Load(filepath.Join(t.TempDir(), "nope.hcl"))
	if !diags.HasErrors() || !strings.Contains(diags.Error(), "nope.hcl") {
		t.Fatalf("diags = %v", diags)
	}
}

func TestValidateCodeBuilt(t *testing.T) {
	c := &Catalog{Reference: "x", Classes: []*Class{{Name: "a", Instances: 1, Shape: Shape{CPU: 1000, MemoryMiB: 1024}, BandwidthBytes: 1}}}
	diags := c.Validate()
	if len(diags) != 1 || diags[0].Summary != "Unknown reference class" || diags[0].Subject != nil {
		t.Fatalf("diags = %v", diags)
	}
}

func TestGPUSpeedZeroWithGPUsWarns(t *testing.T) {
	diags := loadSource("executor \"gpu-accelerated\" {\n  performance {\n    gpu = 0\n  }\n}")
	if diags.HasErrors() || len(diags) != 1 || diags[0].Severity != hcl.DiagWarning {
		t.Fatalf("diags = %v", diags)
	}
}

func TestRoundTrip(t *testing.T) {
	user, diags := Parse("user.hcl", []byte(overrideSrc))
	if diags.HasErrors() {
		t.Fatal(diags.Error())
	}
	for name, c := range map[string]*Catalog{"default": Default(), "merged": Merge(Default(), user)} {
		var buf bytes.Buffer
		if err := WriteHCL(&buf, c); err != nil {
			t.Fatal(err)
		}
		back, diags := Parse("written.hcl", buf.Bytes())
		if diags.HasErrors() {
			t.Fatalf("%s: re-parse: %s\n%s", name, diags.Error(), buf.String())
		}
		if got, want := strip(back), strip(c); !reflect.DeepEqual(got, want) {
			t.Errorf("%s: round trip differs\n got %+v\nwant %+v\n%s", name, got, want, buf.String())
		}
	}
}

func TestFormat(t *testing.T) {
	var buf bytes.Buffer
	if err := Format(&buf, Default()); err != nil {
		t.Fatal(err)
	}
	out := buf.String()
	for _, want := range []string{"CLASS", "cpu-heavy *", "gpu-accelerated", "1 x 80.0GiB", "256.0GiB", "oversubscribe", "service", "${device.attr.memory} >= 40 GiB"} {
		if !strings.Contains(out, want) {
			t.Errorf("output lacks %q:\n%s", want, out)
		}
	}
	lines := strings.Split(out, "\n")
	col := strings.Index(lines[0], "CPU (MHz)")
	for _, l := range lines[1:6] {
		if len(l) <= col || l[col] < '0' || l[col] > '9' {
			t.Errorf("column not aligned: %q", l)
		}
	}
}

// loadSource parses src as user.hcl and merges and validates it like Load.
func loadSource(src string) hcl.Diagnostics {
	user, diags := Parse("user.hcl", []byte(src))
	if diags.HasErrors() {
		return diags
	}
	return append(diags, Merge(Default(), user).Validate()...)
}

func firstError(diags hcl.Diagnostics) *hcl.Diagnostic {
	for _, d := range diags {
		if d.Severity == hcl.DiagError {
			return d
		}
	}
	return nil
}

// strip returns a copy of c without positions or set-attribute records.
func strip(c *Catalog) *Catalog {
	out := c.Clone()
	out.refRange, out.refSet, out.fileRange = hcl.Range{}, false, hcl.Range{}
	for _, cl := range out.Classes {
		cl.DefRange, cl.attrs = hcl.Range{}, nil
		for i := range cl.Placement.Constraints {
			cl.Placement.Constraints[i].DefRange = hcl.Range{}
		}
		cl.Placement.Device = stripDevice(cl.Placement.Device)
	}
	return out
}

func stripDevice(d *Device) *Device {
	if d == nil {
		return nil
	}
	out := *d
	out.DefRange = hcl.Range{}
	out.Constraints = append([]Constraint(nil), d.Constraints...)
	for i := range out.Constraints {
		out.Constraints[i].DefRange = hcl.Range{}
	}
	return &out
}

func TestLoadMissingFileNamesItOnce(t *testing.T) {
	_, diags := Load("nocat.hcl")
	if !diags.HasErrors() {
		t.Fatal("Load of a missing file succeeded")
	}
	got := diags[0].Detail
	if got != "read nocat.hcl: no such file or directory" {
		t.Fatalf("detail = %q, want %q", got, "read nocat.hcl: no such file or directory")
	}
}

// TestBadInputDetails checks fixtures of the constraint target and size
// rules: summary, detail and position (user.hcl:line:col) of the one error
// each gives.
func TestBadInputDetails(t *testing.T) {
	con := func(attr, value string) string {
		return "executor \"cpu-heavy\" {\n  constraint {\n    attribute = " + attr + "\n    value     = " + value + "\n  }\n}"
	}
	dev := func(attr string) string {
		return "executor \"gpu-accelerated\" {\n  device \"nvidia/gpu\" {\n    constraint {\n      attribute = " + attr + "\n      value     = \"x\"\n    }\n  }\n}"
	}
	inst := func(attr string) string {
		return "executor \"cpu-heavy\" {\n  instance {\n    " + attr + "\n  }\n}"
	}
	const node = "A constraint names one of ${node.unique.id}, ${node.unique.name}, ${node.datacenter}, ${node.class}, ${node.pool}, ${attr.NAME} or ${meta.NAME}."
	const device = "A device constraint names one of ${device.attr.NAME}, ${device.model}, ${device.vendor}, ${device.type} or ${device.ids}."
	tests := []struct {
		name, src, summary, pos, detail string
	}{
		{"interpolated unknown", con(`"${arch}"`, `"amd64"`), "Invalid constraint attribute", "3:17",
			`"${arch}" is not an interpolation Nomad resolves, so no node would ever satisfy the constraint. ` + node + ` Did you mean "${attr.cpu.arch}"?`},
		{"literal attribute", con(`"arch"`, `"amd64"`), "Invalid constraint attribute", "3:17",
			`"arch" is literal text, not an interpolation: Nomad would compare the text itself and never a node's value. ` + node + ` Did you mean "${attr.cpu.arch}"?`},
		{"meta index", con(`"${meta["56net"]}"`, `"1"`), "Invalid constraint attribute", "3:17",
			`"${meta[\"56net\"]}" is not an interpolation Nomad resolves, so no node would ever satisfy the constraint. ` + node + ` Write the key after a dot: "$${meta.56net}" (in a catalog file, $$ keeps HCL from reading the interpolation).`},
		{"node pool misnamed", con(`"${node.node_pool}"`, `"gpu"`), "Invalid constraint attribute", "3:17",
			`"${node.node_pool}" is not an interpolation Nomad resolves, so no node would ever satisfy the constraint. ` + node + ` Did you mean "${node.pool}"?`},
		{"value interpolates wrongly", con(`"${attr.kernel.name}"`, `"${node.region}"`), "Invalid constraint value", "4:17",
			`"${node.region}" is not an interpolation Nomad resolves, so no node would ever satisfy the constraint. ` + node},
		{"device attribute outside device", con(`"${device.attr.memory}"`, `"1"`), "Invalid constraint attribute", "3:17",
			`"${device.attr.memory}" names a device attribute, which Nomad resolves only in a constraint inside the device block. ` + node},
		{"node attribute inside device", dev(`"${attr.cpu.arch}"`), "Invalid constraint attribute", "4:19",
			`"${attr.cpu.arch}" names a node attribute, which Nomad does not resolve inside a device block; move the constraint out of it. ` + device},
		{"device literal", dev(`"memory"`), "Invalid constraint attribute", "4:19",
			`"memory" is literal text, not an interpolation: Nomad would compare the text itself and never a node's value. ` + device + ` Did you mean "${device.attr.memory}"?`},
		{"fractional memory", inst("memory = 64.5"), "Invalid size for memory", "3:14",
			`invalid size "64.5": a bare number is bytes, and 64.5 bytes is not a whole number; give a unit, such as "64.5MiB".`},
		{"bare small memory", inst("memory = 64"), "Invalid size for memory", "3:14",
			`invalid size "64": a bare number is bytes, and 64 bytes is below 1 MiB; give a unit, such as "64MiB".`},
		{"bare small disk", inst("disk = 300"), "Invalid size for disk", "3:12",
			`invalid size "300": a bare number is bytes, and 300 bytes is below 1 MiB; give a unit, such as "300MiB".`},
		{"fractional bandwidth", "executor \"cpu-heavy\" {\n  performance {\n    bandwidth = \"0.5B\"\n  }\n}", "Invalid size for bandwidth", "3:17",
			`invalid size "0.5B": 0.5 bytes is not a whole number of bytes.`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			diags := loadSource(tt.src)
			if len(diags) != 1 || diags[0].Severity != hcl.DiagError {
				t.Fatalf("want one error, got %d: %v", len(diags), diags)
			}
			d := diags[0]
			if d.Summary != tt.summary || d.Detail != tt.detail {
				t.Errorf("got %q: %s\nwant %q: %s", d.Summary, d.Detail, tt.summary, tt.detail)
			}
			if got := posOf(d); got != "user.hcl:"+tt.pos {
				t.Errorf("at %s, want user.hcl:%s", got, tt.pos)
			}
		})
	}
}

// TestGoodTargets checks that every form of Nomad's interpolation set is
// accepted where Nomad resolves it, and a literal value is too.
func TestGoodTargets(t *testing.T) {
	for _, target := range []string{"${node.unique.id}", "${node.unique.name}", "${node.datacenter}", "${node.class}",
		"${node.pool}", "${attr.cpu.arch}", "${attr.unique.platform.aws.instance-type}", "${meta.56net}", "${meta.rack}"} {
		if err := CheckTarget(target, false); err != nil {
			t.Errorf("%s: %v", target, err)
		}
	}
	for _, target := range []string{"${device.attr.memory}", "${device.model}", "${device.vendor}", "${device.type}", "${device.ids}"} {
		if err := CheckTarget(target, true); err != nil {
			t.Errorf("device %s: %v", target, err)
		}
	}
	src := "executor \"cpu-heavy\" {\n  constraint {\n    attribute = \"$${meta.56net}\"\n    operator  = \">=\"\n    value     = \"${attr.cpu.numcores}\"\n  }\n" +
		"  constraint {\n    operator = \"distinct_hosts\"\n    value    = \"true\"\n  }\n}"
	if diags := loadSource(src); len(diags) != 0 {
		t.Fatalf("diags: %v", diags)
	}
}

// TestSmallMemoryWarns checks that an instance memory below 1 MiB written
// with a unit is read with a positioned warning.
func TestSmallMemoryWarns(t *testing.T) {
	diags := loadSource("executor \"cpu-heavy\" {\n  instance {\n    memory = \"512KiB\"\n  }\n}")
	if len(diags) != 1 || diags[0].Severity != hcl.DiagWarning || posOf(diags[0]) != "user.hcl:3:14" ||
		diags[0].Detail != `memory = "512KiB" is below 1 MiB, too little for a process; it is taken as 1 MiB. Did you mean MiB?` {
		t.Fatalf("diags = %v", diags)
	}
	// A GPU's memory is no process's.
	diags = loadSource("executor \"gpu-accelerated\" {\n  instance {\n    gpu_memory = \"512KiB\"\n  }\n}")
	if len(diags) != 1 || diags[0].Detail != `gpu_memory = "512KiB" is below 1 MiB, too little for a GPU; it is taken as 1 MiB. Did you mean MiB?` {
		t.Errorf("gpu_memory: diags = %v", diags)
	}
}

// TestValidateCodeBuiltTarget checks that a class built in code with a
// constraint outside the interpolation set fails Validate.
func TestValidateCodeBuiltTarget(t *testing.T) {
	c := Default()
	c.Classes[0].Placement.Constraints = []Constraint{{Attribute: "${arch}", Operator: "=", Value: "amd64"}}
	diags := c.Validate()
	if len(diags) != 1 || diags[0].Summary != "Invalid constraint attribute" || !strings.HasPrefix(diags[0].Detail, `Executor "cpu-heavy": "${arch}" is not`) {
		t.Fatalf("diags = %v", diags)
	}
}

func posOf(d *hcl.Diagnostic) string {
	if d.Subject == nil {
		return "(none)"
	}
	return fmt.Sprintf("%s:%d:%d", d.Subject.Filename, d.Subject.Start.Line, d.Subject.Start.Column)
}

// TestLoadSource loads a stored catalog's content as Load loads its file:
// merged with the default, and a fault named by the given filename.
func TestLoadSource(t *testing.T) {
	c, diags := LoadSource("catalog of run r1", []byte(overrideSrc))
	if diags.HasErrors() {
		t.Fatal(diags.Error())
	}
	if len(c.Classes) != 6 || c.Class("cpu-heavy").Instances != 2 {
		t.Fatalf("LoadSource merged wrongly: %v", c.Names())
	}
	if c, diags := LoadSource("", []byte("not hcl {")); diags.HasErrors() || len(c.Classes) != 5 {
		t.Fatalf("LoadSource without a filename: %v, want the default alone", diags)
	}
	_, diags = LoadSource("catalog of run r1", []byte("executor \"x\" {\n  cpus = 4\n}"))
	if !diags.HasErrors() || diags[0].Subject == nil || diags[0].Subject.Filename != "catalog of run r1" {
		t.Fatalf("diagnostics %v, want an error in \"catalog of run r1\"", diags)
	}
}

// TestEmptyStandaloneIsPositioned: a file that is the whole catalog
// (extend_default = false) but defines no executor is reported at the
// file, file:line:col, not without a position.
func TestEmptyStandaloneIsPositioned(t *testing.T) {
	_, diags := LoadSource("user.hcl", []byte("extend_default = false\n"))
	d := firstError(diags)
	if d == nil || d.Summary != "Empty executor catalog" || d.Subject == nil ||
		d.Subject.Filename != "user.hcl" || d.Subject.Start.Line != 1 || d.Subject.Start.Column != 1 {
		t.Fatalf("diags %v, want Empty executor catalog at user.hcl:1,1", diags)
	}
}

// TestDuplicateExecutorSaysLine: the duplicate's detail names the first
// block's line as the graph language's duplicates do, not an HCL range
// ("user.hcl:1,1-15").
func TestDuplicateExecutorSaysLine(t *testing.T) {
	d := firstError(loadSource("executor \"a\" {}\n\nexecutor \"a\" {}"))
	if want := `Executor "a" was already defined on line 1.`; d == nil || d.Detail != want {
		t.Errorf("detail %v, want %q", d, want)
	}
}
