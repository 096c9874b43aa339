package cluster

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"net/http"
	"os"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"time"

	consulapi "github.com/hashicorp/consul/api"
	"github.com/hashicorp/nomad/api"
	"github.com/shardwise/shardwise/driver/channel/registry"
)

const (
	// DefaultStartTimeout bounds Start when its context has no deadline.
	DefaultStartTimeout = 2 * time.Minute
	// stopGrace is how long an agent gets to exit after SIGINT before it
	// is killed.
	stopGrace = 20 * time.Second
	// markerEnv carries the run directory into every agent and, through
	// inheritance, into every plugin, executor and raw_exec task they
	// start, so Close can find what they leave behind.
	markerEnv = "SHARDWISE_CLUSTER_RUN"
)

// Cluster is a running local cluster. Its methods are safe for concurrent
// use.
type Cluster struct {
	opts    Options
	dir     runPaths
	consul  *agent
	server  *agent
	clients map[string]*agent // by class name
	addrs   map[string]string // client agents' HTTP addresses, by class name
	classes []Class           // in Options order

	// shard is set when every client loads the shard task driver;
	// channelPorts are their channel servers' ports, by class name, and
	// secret the cluster's channel_secret.
	shard        bool
	channelPorts map[string]int
	secret       string

	nomadAddr  string
	consulAddr string
	// serverRPC and consulHTTP are the ports a client added later joins.
	serverRPC, consulHTTP int
	client                *api.Client // for callers: no timeout (blocking queries, streams)
	probe                 *api.Client // for readiness checks: every request bounded
	probeHTTP             *http.Client

	mu      sync.Mutex
	nodes   map[string]string // class name -> node ID
	nudging map[string]bool   // classes with a nudge in flight (see nudge)

	closeOnce sync.Once
	closeErr  error
}

// Start starts Consul, the Nomad server and one Nomad client per class and
// waits until the cluster is ready (see the package documentation). When
// ctx has no deadline, DefaultStartTimeout applies. On failure every agent
// is stopped, the run directory is removed (unless opts.KeepDir) and the
// error names what never became ready, followed by the agents' log tails.
func Start(ctx context.Context, opts Options) (*Cluster, error) {
	o, err := opts.withDefaults()
	if err != nil {
		return nil, err
	}
	if missing := MissingBinaries(o); len(missing) > 0 {
		return nil, fmt.Errorf("cluster: missing binaries (run `make agents`): %s", strings.Join(missing, "; "))
	}
	if _, ok := ctx.Deadline(); !ok {
		var cancel context.CancelFunc
		ctx, cancel = context.WithTimeout(ctx, DefaultStartTimeout)
		defer cancel()
	}
	began := time.Now()
	c, err := prepare(o)
	if err != nil {
		return nil, err
	}
	if err := c.startAndWait(ctx); err != nil {
		tails := c.LogTails(15)
		return nil, errors.Join(fmt.Errorf("%w\n%s", err, tails), c.Close())
	}
	o.Logf("cluster: ready in %s: nomad %s, consul %s, run dir %s",
		time.Since(began).Round(time.Millisecond), c.nomadAddr, c.consulAddr, c.dir)
	return c, nil
}

// prepare creates the run directory, picks ports and writes every agent's
// configuration; it starts nothing.
func prepare(o Options) (*Cluster, error) {
	if err := os.MkdirAll(o.Dir, 0o755); err != nil {
		return nil, fmt.Errorf("cluster: create %s: %w", o.Dir, err)
	}
	made, err := os.MkdirTemp(o.Dir, "swc-")
	if err != nil {
		return nil, fmt.Errorf("cluster: create run dir: %w", err)
	}
	dir, err := resolve(made)
	if err != nil {
		os.RemoveAll(made)
		return nil, fmt.Errorf("cluster: resolve run dir: %w", err)
	}
	c := &Cluster{
		opts: o, dir: runPaths(dir), classes: o.Classes,
		clients: map[string]*agent{}, addrs: map[string]string{}, channelPorts: map[string]int{},
		nodes: map[string]string{}, nudging: map[string]bool{},
	}
	if c.shard = isExecutable(shardPluginPath(o.BinDir)); c.shard {
		if c.secret, err = randomSecret(); err != nil {
			os.RemoveAll(dir)
			return nil, err
		}
	} else {
		o.Logf("cluster: %s not found (run `make driver`): the clients start without the %q task driver",
			shardPluginPath(o.BinDir), ShardDriver)
	}
	var ports portPicker
	defer ports.release()
	if err := c.configure(&ports); err != nil {
		os.RemoveAll(dir)
		return nil, err
	}
	return c, nil
}

// resolve returns dir absolute and without symlinks: agents get absolute
// paths, and /proc's mountinfo and cwd links show resolved ones.
func resolve(dir string) (string, error) {
	abs, err := filepath.Abs(dir)
	if err != nil {
		return "", err
	}
	return filepath.EvalSymlinks(abs)
}

// configure builds the agents of c with ports from p.
func (c *Cluster) configure(p *portPicker) error {
	cp, err := p.consul()
	if err != nil {
		return fmt.Errorf("cluster: consul ports: %w", err)
	}
	sp, err := p.nomad()
	if err != nil {
		return fmt.Errorf("cluster: nomad server ports: %w", err)
	}
	env := agentEnv(cp.HTTP, string(c.dir))
	c.consulAddr = fmt.Sprintf("http://127.0.0.1:%d", cp.HTTP)
	c.serverRPC, c.consulHTTP = sp.RPC, cp.HTTP
	c.nomadAddr = fmt.Sprintf("http://127.0.0.1:%d", sp.HTTP)
	if c.client, err = api.NewClient(&api.Config{Address: c.nomadAddr}); err != nil {
		return fmt.Errorf("cluster: nomad api client: %w", err)
	}
	c.probeHTTP = &http.Client{Timeout: probeTimeout}
	if c.probe, err = api.NewClient(&api.Config{Address: c.nomadAddr, HttpClient: c.probeHTTP}); err != nil {
		return fmt.Errorf("cluster: nomad api client: %w", err)
	}
	c.consul = &agent{label: "consul", bin: c.bin("consul"), env: env, logPath: c.dir.log("consul"),
		args: consulArgs(cp, "shardwise-"+filepath.Base(string(c.dir)))}
	if c.server, err = c.nomadAgent("nomad server", serverName, serverConfig(c.dir.data(serverName), sp, cp.HTTP), env); err != nil {
		return err
	}
	for _, cl := range c.classes {
		np, err := p.nomad()
		if err != nil {
			return fmt.Errorf("cluster: nomad client %s ports: %w", cl.Name, err)
		}
		if c.shard {
			if c.channelPorts[cl.Name], err = p.tcp(); err != nil {
				return fmt.Errorf("cluster: nomad client %s channel port: %w", cl.Name, err)
			}
		}
		if c.clients[cl.Name], err = c.clientAgent(cl, np, sp.RPC, cp.HTTP, env); err != nil {
			return err
		}
		c.addrs[cl.Name] = fmt.Sprintf("http://127.0.0.1:%d", np.HTTP)
	}
	return nil
}

func (c *Cluster) bin(name string) string { return filepath.Join(c.opts.BinDir, name) }

// nomadAgent writes a Nomad agent's config under the run dir and returns
// the agent that runs it.
func (c *Cluster) nomadAgent(label, name, config string, env []string) (*agent, error) {
	if err := os.MkdirAll(c.dir.data(name), 0o755); err != nil {
		return nil, fmt.Errorf("cluster: %s: %w", label, err)
	}
	if err := os.WriteFile(c.dir.config(name), []byte(config), 0o644); err != nil {
		return nil, fmt.Errorf("cluster: %s: write config: %w", label, err)
	}
	return &agent{label: label, bin: c.bin("nomad"), env: env, logPath: c.dir.log(name),
		args: []string{"agent", "-config", c.dir.config(name)}}, nil
}

// clientAgent prepares the Nomad client of class cl: its plugin dir (a
// link to nomad-driver-shard, and to fakegpu when the class has GPUs) and
// its config.
func (c *Cluster) clientAgent(cl Class, p nomadPorts, serverRPC, consulHTTP int, env []string) (*agent, error) {
	label := "nomad client " + cl.Name
	d := clientDirs{
		Data:         c.dir.data(cl.Name),
		Plugins:      c.dir.plugins(cl.Name),
		CgroupParent: c.cgroupParent(cl.Name),
		Volumes:      c.dir.volumes(cl.Name),
	}
	if err := os.MkdirAll(d.Plugins, 0o755); err != nil {
		return nil, fmt.Errorf("cluster: %s: %w", label, err)
	}
	// Nomad refuses to start a client whose host volume path is missing.
	for _, v := range cl.HostVolumes {
		if err := makeVolumeDir(d, v); err != nil {
			return nil, fmt.Errorf("cluster: %s: host volume %s: %w", label, v.Name, err)
		}
	}
	var shard *shardDriverConfig
	if c.shard {
		if err := c.linkPlugin(d.Plugins, shardPlugin); err != nil {
			return nil, fmt.Errorf("cluster: %s: %w", label, err)
		}
		shard = &shardDriverConfig{Port: c.channelPorts[cl.Name], DataDir: c.dir.shard(cl.Name), Secret: c.secret}
	}
	if cl.GPUs > 0 {
		if err := c.linkPlugin(d.Plugins, gpuPlugin); err != nil {
			return nil, fmt.Errorf("cluster: %s: %w", label, err)
		}
	}
	return c.nomadAgent(label, cl.Name, clientConfig(cl, d, p, serverRPC, consulHTTP, shard), env)
}

// makeVolumeDir creates the directory of host volume v. One in the run
// directory is writable by everyone (mode 0777, as /tmp but without the
// sticky bit): exec tasks run as nobody unless their job sets a user.
func makeVolumeDir(d clientDirs, v HostVolume) error {
	path := d.hostVolumePath(v)
	if err := os.MkdirAll(path, 0o755); err != nil {
		return err
	}
	if v.Path != "" {
		return nil
	}
	return os.Chmod(path, 0o777)
}

// linkPlugin links <BinDir>/plugins/name into a client's plugin dir.
func (c *Cluster) linkPlugin(pluginDir, name string) error {
	src, err := filepath.Abs(filepath.Join(c.opts.BinDir, "plugins", name))
	if err != nil {
		return fmt.Errorf("plugin %s: %w", name, err)
	}
	if err := os.Symlink(src, filepath.Join(pluginDir, name)); err != nil {
		return fmt.Errorf("link plugin %s: %w", name, err)
	}
	return nil
}

// randomSecret returns 32 random bytes in hex: a cluster's channel_secret.
func randomSecret() (string, error) {
	b := make([]byte, 32)
	if _, err := rand.Read(b); err != nil {
		return "", fmt.Errorf("cluster: channel secret: %w", err)
	}
	return hex.EncodeToString(b), nil
}

// cgroupParent is the client's cgroup_parent: unique per run and class,
// so clients never manage each other's cgroups. Nomad wants it absolute.
func (c *Cluster) cgroupParent(class string) string {
	return "/shardwise-" + strings.TrimPrefix(filepath.Base(string(c.dir)), "swc-") + "-" + class
}

// startAndWait starts Consul and the server, waits for a Nomad leader,
// then starts the clients and waits for the whole cluster. A client that
// finds no server (connection refused) retries its registration only
// after 15-30 s, so the clients start once the server can register them.
func (c *Cluster) startAndWait(ctx context.Context) error {
	if err := c.start(c.consul, c.server); err != nil {
		return err
	}
	// The shard driver fingerprints healthy only once Consul has a
	// leader, and fingerprints again only every 30 s: wait for both
	// leaders before starting the clients.
	watch := []*agent{c.consul, c.server}
	err := c.poll(ctx, "nomad server", watch, func() ([]string, error) {
		var pending []string
		if p := c.consulPending(); p != "" {
			pending = append(pending, p)
		}
		if p := c.leaderPending(); p != "" {
			pending = append(pending, p)
		}
		return pending, nil
	})
	if err != nil {
		return err
	}
	if err := c.channelIntentions(ctx); err != nil {
		return err
	}
	if err := c.start(c.agents()[2:]...); err != nil {
		return err
	}
	return c.waitReady(ctx)
}

// channelIntentions makes the cluster deny by default for the channel
// service: only the shard drivers' own Connect identity may pull channels.
func (c *Cluster) channelIntentions(ctx context.Context) error {
	client, err := consulapi.NewClient(&consulapi.Config{Address: c.consulAddr, HttpClient: c.probeHTTP})
	if err != nil {
		return fmt.Errorf("cluster: consul client: %w", err)
	}
	if err := registry.DenyAllButChannels(ctx, client); err != nil {
		return fmt.Errorf("cluster: %w", err)
	}
	return nil
}

// start launches agents without waiting for them.
func (c *Cluster) start(agents ...*agent) error {
	for _, a := range agents {
		if err := a.start(); err != nil {
			return fmt.Errorf("cluster: %w", err)
		}
		c.opts.Logf("cluster: started %s (pid %d), log %s", a.label, a.pid(), a.logPath)
	}
	return nil
}

// agents returns every agent: Consul, the server, then the clients in
// class order.
func (c *Cluster) agents() []*agent {
	out := []*agent{c.consul, c.server}
	for _, cl := range c.classes {
		out = append(out, c.clients[cl.Name])
	}
	return out
}

// NomadAddr returns the Nomad server's HTTP address, e.g.
// "http://127.0.0.1:34567" (a value for NOMAD_ADDR).
func (c *Cluster) NomadAddr() string { return c.nomadAddr }

// ConsulAddr returns the Consul agent's HTTP address, e.g.
// "http://127.0.0.1:34568" (a value for CONSUL_HTTP_ADDR).
func (c *Cluster) ConsulAddr() string { return c.consulAddr }

// ClientAddr returns the HTTP address of the client agent of class, or ""
// for an unknown class. Most calls should go to NomadAddr; a client agent
// answers the same API and serves its own allocations' files and stats
// directly.
func (c *Cluster) ClientAddr(class string) string { return c.addrs[class] }

// ShardDriver reports whether the clients load the shard task driver
// (driver "shard", <BinDir>/plugins/nomad-driver-shard). Start leaves it
// out, with a log line, only when the binary is missing and CI is unset.
func (c *Cluster) ShardDriver() bool { return c.shard }

// ChannelAddr returns the host:port of the shard driver's channel server
// on the client of class ("127.0.0.1:<port>"), or "" for an unknown class
// or a cluster without the shard driver.
func (c *Cluster) ChannelAddr(class string) string {
	port, ok := c.channelPorts[class]
	if !ok {
		return ""
	}
	return fmt.Sprintf("127.0.0.1:%d", port)
}

// ChannelSecret returns the channel_secret every client's shard driver is
// configured with (random per cluster), from which each run's channel key
// derives; "" without the shard driver.
func (c *Cluster) ChannelSecret() string { return c.secret }

// HostVolumePath returns the host directory of the host volume name on
// the client of class (Class.HostVolumes), or "" when that client has no
// such volume.
func (c *Cluster) HostVolumePath(class, name string) string {
	for _, cl := range c.classes {
		if cl.Name != class {
			continue
		}
		for _, v := range cl.HostVolumes {
			if v.Name == name {
				return clientDirs{Volumes: c.dir.volumes(class)}.hostVolumePath(v)
			}
		}
	}
	return ""
}

// Client returns a Nomad API client for the server.
func (c *Cluster) Client() *api.Client { return c.client }

// Dir returns the run directory: one folder per agent (agent.hcl, data)
// and one <agent>.log per agent.
func (c *Cluster) Dir() string { return string(c.dir) }

// Classes returns the classes the cluster runs, in Options order.
func (c *Cluster) Classes() []Class { return append([]Class(nil), c.classes...) }

// Nodes returns the Nomad node ID of each class's client, by class name.
// IDs survive StopClient/StartClient (they live in the client's data dir).
func (c *Cluster) Nodes() map[string]string {
	c.mu.Lock()
	defer c.mu.Unlock()
	out := make(map[string]string, len(c.nodes))
	for k, v := range c.nodes {
		out[k] = v
	}
	return out
}

// LogTails returns the last n lines of every agent's log, each under a
// "==> label (path) <==" header, Consul first, then the server, then the
// clients in class order.
func (c *Cluster) LogTails(n int) string {
	var b strings.Builder
	for _, a := range c.agents() {
		fmt.Fprintf(&b, "==> %s (%s) <==\n%s\n", a.label, a.logPath, a.tail(n))
	}
	return b.String()
}

func (c *Cluster) clientOf(class string) (*agent, error) {
	a, ok := c.clients[class]
	if !ok {
		names := make([]string, 0, len(c.clients))
		for n := range c.clients {
			names = append(names, n)
		}
		sort.Strings(names)
		return nil, fmt.Errorf("cluster: no client of class %q (have %s)", class, strings.Join(names, ", "))
	}
	return a, nil
}

// StopClient stops the client agent of class gracefully (SIGINT, killed
// after 20 s). Its data dir is kept; tasks it started keep running, as
// they do when a real Nomad client stops. The server marks the node down
// only after its heartbeat expires (about 10-15 s here); see
// WaitNodeStatus.
func (c *Cluster) StopClient(class string) error {
	return c.signalClient(class, syscall.SIGINT)
}

// KillClient kills the client agent of class with SIGKILL, as a crash
// would; its plugins may outlive it until Close.
func (c *Cluster) KillClient(class string) error {
	return c.signalClient(class, syscall.SIGKILL)
}

func (c *Cluster) signalClient(class string, sig syscall.Signal) error {
	a, err := c.clientOf(class)
	if err != nil {
		return err
	}
	if err := a.stop(sig, stopGrace); err != nil {
		return fmt.Errorf("cluster: stop client %s: %w", class, err)
	}
	c.opts.Logf("cluster: stopped %s (%v)", a.label, sig)
	return nil
}

// StartClient restarts the stopped client agent of class with its data
// dir, and waits until its node has registered again and is ready (the
// same checks as Start). With the shard driver it first waits for the
// previous agent's shard plugin to exit (a plugin whose client was killed
// exits within a second), since the new plugin binds the same channel
// port. When ctx has no deadline, DefaultStartTimeout applies.
func (c *Cluster) StartClient(ctx context.Context, class string) error {
	a, err := c.clientOf(class)
	if err != nil {
		return err
	}
	before, err := c.nodeModifyIndex(class)
	if err != nil {
		return err
	}
	if _, ok := ctx.Deadline(); !ok {
		var cancel context.CancelFunc
		ctx, cancel = context.WithTimeout(ctx, DefaultStartTimeout)
		defer cancel()
	}
	if c.shard {
		err := c.poll(ctx, "client "+class+" restart", []*agent{c.consul, c.server}, func() ([]string, error) {
			if pids := c.ShardPluginPids(class); len(pids) > 0 {
				return []string{fmt.Sprintf("shard driver plugin of the previous agent still running (pids %v)", pids)}, nil
			}
			return nil, nil
		})
		if err != nil {
			return err
		}
	}
	if err := a.start(); err != nil {
		return fmt.Errorf("cluster: %w", err)
	}
	watch := []*agent{c.consul, c.server, a}
	return c.poll(ctx, "client "+class+" restart", watch, func() ([]string, error) {
		return c.restartPending(class, before)
	})
}

// ShardPluginPids returns the pids of the shard driver plugin processes
// that the client agent of class started (its plugin_dir's
// nomad-driver-shard run without arguments; not their executors, which
// run "nomad-driver-shard executor ..."). Normally one while the client
// runs, none once it stopped.
func (c *Cluster) ShardPluginPids(class string) []int {
	want := filepath.Join(c.dir.plugins(class), shardPlugin)
	entries, err := os.ReadDir("/proc")
	if err != nil {
		return nil
	}
	var pids []int
	for _, e := range entries {
		pid, err := strconv.Atoi(e.Name())
		if err != nil {
			continue
		}
		b, err := os.ReadFile(filepath.Join("/proc", e.Name(), "cmdline"))
		if err == nil && string(b) == want+"\x00" {
			pids = append(pids, pid)
		}
	}
	return pids
}
