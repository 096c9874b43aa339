package cluster

import (
	"fmt"
	"path/filepath"
	"runtime"
	"strconv"
	"strings"
)

// serverName is the Nomad server agent's name and directory.
const serverName = "server"

// Heartbeat settings of the server: a stopped client is marked down after
// roughly min_heartbeat_ttl..2x plus heartbeat_grace (10-15 s) instead of
// Nomad's default 20-30 s, which keeps fault tests short without making
// nodes flap on a loaded two-core machine.
const (
	minHeartbeatTTL = "5s"
	heartbeatGrace  = "5s"
)

// consulArgs returns the Consul dev agent's command line.
func consulArgs(p consulPorts, node string) []string {
	return []string{
		"agent", "-dev",
		"-bind", "127.0.0.1", "-client", "127.0.0.1",
		"-node", node,
		"-http-port", strconv.Itoa(p.HTTP),
		"-dns-port", strconv.Itoa(p.DNS),
		"-serf-lan-port", strconv.Itoa(p.SerfLAN),
		"-serf-wan-port", strconv.Itoa(p.SerfWAN),
		"-server-port", strconv.Itoa(p.Server),
		"-grpc-port", strconv.Itoa(p.GRPC),
		"-log-level", "info",
	}
}

// hclWriter builds a small HCL file. Strings are quoted with %q: the
// values here (paths, names, addresses) are plain ASCII, for which Go and
// HCL quoting agree.
type hclWriter struct {
	b     strings.Builder
	depth int
}

func (w *hclWriter) line(format string, args ...any) {
	w.b.WriteString(strings.Repeat("  ", w.depth))
	fmt.Fprintf(&w.b, format, args...)
	w.b.WriteByte('\n')
}

func (w *hclWriter) open(header string) { w.line("%s {", header); w.depth++ }
func (w *hclWriter) close()             { w.depth--; w.line("}") }

// common writes what every Nomad agent shares: name, data dir, loopback
// addresses and ports, and the Consul agent.
func (w *hclWriter) common(name, dataDir string, p nomadPorts, consulHTTP int) {
	w.line("name                 = %q", name)
	w.line("data_dir             = %q", dataDir)
	w.line("bind_addr            = %q", "127.0.0.1")
	w.line("log_level            = %q", "INFO")
	w.line("disable_update_check = true")
	w.open("ports")
	w.line("http = %d", p.HTTP)
	w.line("rpc  = %d", p.RPC)
	w.line("serf = %d", p.Serf)
	w.close()
	w.open("advertise")
	w.line("http = %q", "127.0.0.1")
	w.line("rpc  = %q", "127.0.0.1")
	w.line("serf = %q", "127.0.0.1")
	w.close()
	w.open("consul")
	w.line("address = %q", fmt.Sprintf("127.0.0.1:%d", consulHTTP))
	w.close()
}

// serverConfig returns the Nomad server's agent configuration: a
// single-server cluster with persistent state and memory oversubscription
// enabled (the catalog's memory-intensive class uses memory_max).
func serverConfig(dataDir string, p nomadPorts, consulHTTP int) string {
	var w hclWriter
	w.common(serverName, dataDir, p, consulHTTP)
	w.open("server")
	w.line("enabled           = true")
	w.line("bootstrap_expect  = 1")
	w.line("min_heartbeat_ttl = %q", minHeartbeatTTL)
	w.line("heartbeat_grace   = %q", heartbeatGrace)
	w.open("default_scheduler_config")
	w.line("memory_oversubscription_enabled = true")
	w.close()
	w.close()
	w.open("client")
	w.line("enabled = false")
	w.close()
	return w.b.String()
}

// clientDirs are one client's paths inside the run directory.
type clientDirs struct {
	Data         string // data_dir
	Plugins      string // plugin_dir (links to nomad-driver-shard and fakegpu)
	CgroupParent string // cgroup_parent, unique per run and class
	Volumes      string // parent of the host volumes that name no path
}

// hostVolumePath is where volume v of a client with dirs d lives.
func (d clientDirs) hostVolumePath(v HostVolume) string {
	if v.Path != "" {
		return v.Path
	}
	return filepath.Join(d.Volumes, v.Name)
}

// shardDriverConfig is the plugin config of the shard task driver on one
// client: its channel server on 127.0.0.1:Port, its data dir, and the
// cluster's channel secret. A nil *shardDriverConfig loads no driver.
type shardDriverConfig struct {
	Port    int
	DataDir string
	Secret  string
}

// clientConfig returns a Nomad client's agent configuration for class c,
// loading the shard driver when shard is not nil.
func clientConfig(c Class, d clientDirs, p nomadPorts, serverRPC, consulHTTP int, shard *shardDriverConfig) string {
	var w hclWriter
	w.common(c.Name, d.Data, p, consulHTTP)
	w.line("plugin_dir           = %q", d.Plugins)
	w.open("server")
	w.line("enabled = false")
	w.close()
	w.open("client")
	w.line("enabled           = true")
	w.line("servers           = [%q]", fmt.Sprintf("127.0.0.1:%d", serverRPC))
	w.line("node_class        = %q", c.nodeClass())
	w.line("node_pool         = %q", c.pool())
	w.line("network_interface = %q", "lo")
	w.line("cgroup_parent     = %q", d.CgroupParent)
	resources(&w, c)
	for _, v := range c.HostVolumes {
		w.open(fmt.Sprintf("host_volume %q", v.Name))
		w.line("path      = %q", d.hostVolumePath(v))
		w.line("read_only = %t", v.ReadOnly)
		w.close()
	}
	chrootEnv(&w)
	// Drivers that cannot work here and cloud metadata probes only add
	// fingerprint time and log noise.
	w.open("options")
	w.line("%q = %q", "driver.denylist", "docker,podman,qemu,java")
	w.line("%q = %q", "fingerprint.denylist", "env_aws,env_gce,env_azure,env_digitalocean")
	w.close()
	w.close()
	w.open(`plugin "raw_exec"`)
	w.open("config")
	w.line("enabled = true")
	w.close()
	w.close()
	if shard != nil {
		w.open(fmt.Sprintf("plugin %q", shardPlugin))
		w.open("config")
		w.line("bind_addr         = %q", "127.0.0.1")
		w.line("port              = %d", shard.Port)
		w.line("advertise_addr    = %q", "127.0.0.1")
		w.line("data_dir          = %q", shard.DataDir)
		w.line("channel_secret    = %q", shard.Secret)
		// Level 1: on loopback the compressor, not the wire, is the limit.
		w.line("compression_level = 1")
		w.open("consul")
		w.line("address = %q", fmt.Sprintf("127.0.0.1:%d", consulHTTP))
		w.close()
		w.close()
		w.close()
	}
	if c.GPUs > 0 {
		w.open(fmt.Sprintf("plugin %q", gpuPlugin))
		w.open("config")
		w.line("name       = %q", gpuModel(c))
		w.line("count      = %d", c.GPUs)
		w.line("memory_mib = %d", c.gpuMemoryMiB())
		w.close()
		w.close()
	}
	return w.b.String()
}

// chrootEnv writes the client's chroot_env: what exec tasks see of the
// host. Nomad's default (/bin, /etc, /lib, /lib32, /lib64, /sbin, /usr)
// hard-links every file of those trees into each task directory, about
// 225,000 on a development host with merged /usr (/lib is a link to
// usr/lib, embedded once more), which took 30-70 s per exec task here.
// Binaries, the C library and /etc are what the tests' exec tasks (a
// shell and coreutils, the shardwise binary) need; missing sources are
// skipped, so the list also fits hosts without merged /usr.
func chrootEnv(w *hclWriter) {
	w.open("chroot_env")
	for _, dir := range chrootDirs() {
		w.line("%q = %q", dir, dir)
	}
	w.close()
}

// chrootDirs are the host directories exec tasks see (chrootEnv).
func chrootDirs() []string {
	dirs := []string{"/bin", "/sbin", "/etc", "/lib64", "/usr/bin", "/usr/sbin", "/usr/lib64"}
	if triplet, ok := multiarch[runtime.GOARCH]; ok {
		dirs = append(dirs, "/lib/"+triplet, "/usr/lib/"+triplet)
	}
	return dirs
}

// multiarch is Debian's library directory name per GOARCH, where the C
// library lives.
var multiarch = map[string]string{"amd64": "x86_64-linux-gnu", "arm64": "aarch64-linux-gnu"}

// resources writes the advertised resources a class sets.
func resources(w *hclWriter, c Class) {
	if c.CPUMHz > 0 {
		w.line("cpu_total_compute = %d", c.CPUMHz)
	}
	if c.MemoryMiB > 0 {
		w.line("memory_total_mb   = %d", c.MemoryMiB)
	}
	if c.ReservableCores != "" {
		w.line("reservable_cores  = %q", c.ReservableCores)
	}
	if c.DiskMiB > 0 {
		w.line("disk_total_mb     = %d", c.DiskMiB)
		w.line("disk_free_mb      = %d", c.DiskMiB)
	}
}

// gpuModel names the fake GPU model after its memory, e.g. "fake-80gib".
func gpuModel(c Class) string {
	mib := c.gpuMemoryMiB()
	if mib%1024 == 0 {
		return fmt.Sprintf("fake-%dgib", mib/1024)
	}
	return fmt.Sprintf("fake-%dmib", mib)
}

// runPaths lays out the run directory: one folder per agent holding its
// config and data, and one log file per agent at the top.
type runPaths string

func (r runPaths) agentDir(name string) string { return filepath.Join(string(r), name) }
func (r runPaths) config(name string) string   { return filepath.Join(string(r), name, "agent.hcl") }
func (r runPaths) data(name string) string     { return filepath.Join(string(r), name, "data") }
func (r runPaths) plugins(name string) string  { return filepath.Join(string(r), name, "plugins") }
func (r runPaths) shard(name string) string    { return filepath.Join(string(r), name, "shard") }
func (r runPaths) volumes(name string) string  { return filepath.Join(string(r), name, "volumes") }
func (r runPaths) log(name string) string      { return filepath.Join(string(r), name+".log") }
