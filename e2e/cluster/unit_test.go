package cluster

import (
	"context"
	"os"
	"path/filepath"
	"reflect"
	"strconv"
	"strings"
	"testing"

	"github.com/shardwise/shardwise/planner/catalog"
)

func TestDefaultClassesFollowTheCatalog(t *testing.T) {
	classes := DefaultClasses()
	names := make([]string, len(classes))
	gpus := 0
	for i, c := range classes {
		names[i] = c.Name
		if c.GPUs > 0 {
			gpus++
			if c.Name != "gpu-accelerated" || c.GPUs != 2 || c.gpuMemoryMiB() < 40*1024 {
				t.Errorf("GPU class %+v: want gpu-accelerated with 2 GPUs of at least 40 GiB", c)
			}
		}
		if c.pool() != "default" || c.CPUMHz == 0 || c.MemoryMiB == 0 {
			t.Errorf("class %+v: want pool default and the catalog's CPU and memory", c)
		}
	}
	want := []string{"cpu-heavy", "memory-intensive", "io-bound", "gpu-accelerated", "low-latency"}
	if !reflect.DeepEqual(names, want) || gpus != 1 {
		t.Fatalf("classes %v with %d GPU classes, want %v with 1", names, gpus, want)
	}
	// Only cpu-heavy has a host volume: the history store's, in the run dir.
	for _, c := range classes {
		var wantVols []HostVolume
		if c.Name == "cpu-heavy" {
			wantVols = []HostVolume{{Name: "shardwise-history"}}
		}
		if !reflect.DeepEqual(c.HostVolumes, wantVols) {
			t.Errorf("class %s host volumes %+v, want %+v", c.Name, c.HostVolumes, wantVols)
		}
	}
}

func TestClientConfigHostVolumes(t *testing.T) {
	d := clientDirs{Data: "/r/c/data", Plugins: "/r/c/plugins", Volumes: "/r/c/volumes"}
	c := Class{Name: "c", HostVolumes: []HostVolume{{Name: "hist"}, {Name: "ro", Path: "/srv/ro", ReadOnly: true}}}
	cfg := clientConfig(c, d, nomadPorts{1, 2, 3}, 4, 5, nil)
	want := `  host_volume "hist" {
    path      = "/r/c/volumes/hist"
    read_only = false
  }
  host_volume "ro" {
    path      = "/srv/ro"
    read_only = true
  }
`
	if !strings.Contains(cfg, want) {
		t.Errorf("client config lacks\n%s\nin\n%s", want, cfg)
	}
	if plain := clientConfig(Class{Name: "c"}, d, nomadPorts{1, 2, 3}, 4, 5, nil); strings.Contains(plain, "host_volume") {
		t.Errorf("config of a class without host volumes has one:\n%s", plain)
	}
}

func TestCapacityClassesGiveEachClassItsInstances(t *testing.T) {
	cat := catalog.Default()
	classes := CapacityClasses(cat, 2)
	if err := validateClasses(classes); err != nil {
		t.Fatal(err)
	}
	cores := map[string]int{}
	for _, c := range classes {
		lo, hi, ranged := strings.Cut(c.ReservableCores, "-")
		n := 1
		if ranged {
			a, _ := strconv.Atoi(lo)
			b, _ := strconv.Atoi(hi)
			n = b - a + 1
		}
		cores[c.nodeClass()] += n
		if !strings.HasPrefix(c.Name, c.nodeClass()+"-") {
			t.Errorf("client %q of class %q: want the class name and a number", c.Name, c.nodeClass())
		}
		if c.nodeClass() == "gpu-accelerated" && c.GPUs != n {
			t.Errorf("GPU client %+v: want one GPU per reservable core (%d)", c, n)
		}
		if !strings.Contains(clientConfig(c, clientDirs{}, nomadPorts{1, 2, 3}, 4, 5, nil), `reservable_cores  = "`+c.ReservableCores+`"`) {
			t.Errorf("client %q: config lacks its reservable_cores", c.Name)
		}
	}
	for _, cl := range cat.Classes {
		if cores[cl.Name] != cl.Instances {
			t.Errorf("class %s: %d reservable cores over its clients, want the catalog's %d instances", cl.Name, cores[cl.Name], cl.Instances)
		}
	}
	if got := len(CapacityClasses(cat, 64)); got != len(cat.Classes) {
		t.Errorf("64 host cores: %d clients, want one per class (%d)", got, len(cat.Classes))
	}
}

func TestValidateClassesRejects(t *testing.T) {
	for name, classes := range map[string][]Class{
		"empty name": {{Name: ""}},
		"space":      {{Name: "a b"}},
		"reserved":   {{Name: "server"}},
		"duplicate":  {{Name: "a"}, {Name: "a"}},
		"negative":   {{Name: "a", GPUs: -1}},
		"cores":      {{Name: "a", ReservableCores: "all"}},
		"node class": {{Name: "a", NodeClass: "x y"}},
		"volume":     {{Name: "a", HostVolumes: []HostVolume{{Name: ""}}}},
		"volume dup": {{Name: "a", HostVolumes: []HostVolume{{Name: "v"}, {Name: "v"}}}},
		"volume rel": {{Name: "a", HostVolumes: []HostVolume{{Name: "v", Path: "rel/dir"}}}},
	} {
		if err := validateClasses(classes); err == nil {
			t.Errorf("%s: validateClasses(%+v) accepted", name, classes)
		}
	}
}

func TestClientConfigLoadsFakeGPUOnlyWithGPUs(t *testing.T) {
	d := clientDirs{Data: "/r/c/data", Plugins: "/r/c/plugins", CgroupParent: "/shardwise-x-c"}
	plain := clientConfig(Class{Name: "c"}, d, nomadPorts{1, 2, 3}, 4, 5, nil)
	gpu := clientConfig(Class{Name: "g", GPUs: 2, GPUMemoryMiB: 81920, MemoryMiB: 1024}, d, nomadPorts{1, 2, 3}, 4, 5, nil)
	for _, want := range []string{`node_class        = "c"`, `servers           = ["127.0.0.1:4"]`, `address = "127.0.0.1:5"`, `plugin "raw_exec"`, `network_interface = "lo"`} {
		if !strings.Contains(plain, want) {
			t.Errorf("client config lacks %s:\n%s", want, plain)
		}
	}
	if strings.Contains(plain, "fakegpu") || strings.Contains(plain, "memory_total_mb") {
		t.Errorf("config of a class without GPUs or resources has them:\n%s", plain)
	}
	for _, want := range []string{`plugin "fakegpu"`, "count      = 2", "memory_mib = 81920", `name       = "fake-80gib"`, "memory_total_mb   = 1024"} {
		if !strings.Contains(gpu, want) {
			t.Errorf("GPU client config lacks %s:\n%s", want, gpu)
		}
	}
}

func TestClientConfigLoadsShardDriver(t *testing.T) {
	d := clientDirs{Data: "/r/c/data", Plugins: "/r/c/plugins", CgroupParent: "/shardwise-x-c"}
	cfg := clientConfig(Class{Name: "c"}, d, nomadPorts{1, 2, 3}, 4, 5,
		&shardDriverConfig{Port: 4661, DataDir: "/r/c/shard", Secret: "s3cr3t"})
	for _, want := range []string{`plugin "nomad-driver-shard"`, `bind_addr         = "127.0.0.1"`, "port              = 4661",
		`advertise_addr    = "127.0.0.1"`, `data_dir          = "/r/c/shard"`, `channel_secret    = "s3cr3t"`, `address = "127.0.0.1:5"`} {
		if !strings.Contains(cfg, want) {
			t.Errorf("client config lacks %s:\n%s", want, cfg)
		}
	}
	if plain := clientConfig(Class{Name: "c"}, d, nomadPorts{1, 2, 3}, 4, 5, nil); strings.Contains(plain, "nomad-driver-shard") {
		t.Errorf("config without the shard driver loads it:\n%s", plain)
	}
}

// Without CI a missing shard driver plugin is not a missing binary (the
// clients start without it); with CI it is.
func TestShardPluginRequiredOnlyInCI(t *testing.T) {
	bin := t.TempDir()
	for _, name := range []string{"nomad", "consul"} {
		if err := os.WriteFile(filepath.Join(bin, name), []byte("#!/bin/sh\n"), 0o755); err != nil {
			t.Fatal(err)
		}
	}
	opts := Options{BinDir: bin, Classes: []Class{{Name: "solo"}}}
	t.Setenv("CI", "")
	if missing := MissingBinaries(opts); len(missing) != 0 {
		t.Errorf("without CI: missing %v, want none", missing)
	}
	t.Setenv("CI", "true")
	if missing := MissingBinaries(opts); len(missing) != 1 || !strings.Contains(missing[0], "nomad-driver-shard") {
		t.Errorf("with CI: missing %v, want nomad-driver-shard", missing)
	}
}

func TestMountsUnderUnescapesAndSortsDeepestFirst(t *testing.T) {
	info := filepath.Join(t.TempDir(), "mountinfo")
	lines := "22 1 0:20 / /run rw - tmpfs tmpfs rw\n" +
		"30 22 0:31 / /r/a/secrets rw - tmpfs tmpfs rw\n" +
		"31 22 0:32 / /r/a/b\\040c/private rw - tmpfs tmpfs rw\n" +
		"32 22 0:33 / /rx/other rw - tmpfs tmpfs rw\n"
	if err := os.WriteFile(info, []byte(lines), 0o644); err != nil {
		t.Fatal(err)
	}
	got, err := mountsUnder(info, "/r")
	if err != nil {
		t.Fatal(err)
	}
	want := []string{"/r/a/b c/private", "/r/a/secrets"}
	if !reflect.DeepEqual(got, want) {
		t.Fatalf("mountsUnder = %q, want %q", got, want)
	}
}

func TestParseProcCgroupsKeepsNomadCgroups(t *testing.T) {
	got := parseProcCgroups("9:name=systemd:/\n6:freezer:/nomad/abc\n3:cpuset:/shardwise-1-c/shared\n4:memory:/other\n0::/\n")
	want := []string{"/sys/fs/cgroup/freezer/nomad/abc", "/sys/fs/cgroup/cpuset/shardwise-1-c/shared"}
	if !reflect.DeepEqual(got, want) {
		t.Fatalf("parseProcCgroups = %q, want %q", got, want)
	}
}

// An agent that exits at once fails Start with its name and log, and
// Start leaves no run directory behind.
func TestStartReportsAnAgentThatExits(t *testing.T) {
	bin := t.TempDir()
	script := "#!/bin/sh\necho \"agent refuses to start: $*\"\nexit 3\n"
	if err := os.Mkdir(filepath.Join(bin, "plugins"), 0o755); err != nil {
		t.Fatal(err)
	}
	for _, name := range []string{"nomad", "consul", filepath.Join("plugins", shardPlugin)} {
		if err := os.WriteFile(filepath.Join(bin, name), []byte(script), 0o755); err != nil {
			t.Fatal(err)
		}
	}
	parent := t.TempDir()
	_, err := Start(context.Background(), Options{BinDir: bin, Dir: parent, Classes: []Class{{Name: "solo"}}})
	if err == nil {
		t.Fatal("Start succeeded with agents that exit")
	}
	for _, want := range []string{"exited", "agent refuses to start"} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("error lacks %q:\n%v", want, err)
		}
	}
	if left, _ := os.ReadDir(parent); len(left) != 0 {
		t.Errorf("run dir left behind: %v", left)
	}
}

func TestStartNamesMissingBinaries(t *testing.T) {
	_, err := Start(context.Background(), Options{BinDir: t.TempDir()})
	if err == nil || !strings.Contains(err.Error(), "make agents") || !strings.Contains(err.Error(), "fakegpu") {
		t.Fatalf("Start with an empty bin dir: %v", err)
	}
}

// exec tasks see a narrow chroot: binaries, the C library and /etc, never
// the whole /usr (hard-linking it into every task dir took 30-70 s).
func TestClientConfigNarrowChroot(t *testing.T) {
	cfg := clientConfig(Class{Name: "c"}, clientDirs{}, nomadPorts{1, 2, 3}, 4, 5, nil)
	for _, want := range []string{"  chroot_env {\n", `"/usr/bin" = "/usr/bin"`, `"/etc" = "/etc"`, `"/lib64" = "/lib64"`} {
		if !strings.Contains(cfg, want) {
			t.Errorf("client config lacks %s:\n%s", want, cfg)
		}
	}
	for _, bad := range []string{`"/usr" = `, `"/lib" = `} {
		if strings.Contains(cfg, bad) {
			t.Errorf("client config's chroot_env embeds a whole tree (%s):\n%s", bad, cfg)
		}
	}
}

// Ports are picked below the ephemeral range, where outgoing connections
// cannot take them between the pick and the agent's bind, and below
// Nomad's dynamic port range (20000-32000 by default), where a client
// hands out ports to allocations (the feedback job's metrics port)
// without asking the host whether another cluster's agent holds them;
// one picker never hands out a port twice.
func TestPortsComeFromBelowTheEphemeralRange(t *testing.T) {
	lo, hi, ok := pickRange()
	if !ok {
		t.Skip("no ip_local_port_range here: ports come from the OS")
	}
	var p portPicker
	defer p.release()
	seen := map[int]bool{}
	for i := range 200 {
		pick := p.tcp
		if i%2 == 1 {
			pick = p.tcpUDP
		}
		port, err := pick()
		if err != nil {
			t.Fatal(err)
		}
		if port < lo || port >= hi {
			t.Fatalf("port %d outside [%d, %d)", port, lo, hi)
		}
		if port >= 20000 && port <= 32000 {
			t.Fatalf("port %d in Nomad's dynamic port range 20000-32000", port)
		}
		if seen[port] {
			t.Fatalf("port %d handed out twice", port)
		}
		seen[port] = true
	}
}
