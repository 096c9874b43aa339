package channel

import (
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"net"
	"os"
	"path/filepath"
	"strconv"
	"sync"
	"time"

	"github.com/hashicorp/consul/api"
	hclog "github.com/hashicorp/go-hclog"
	"github.com/shardwise/shardwise/driver/channel/connect"
	"github.com/shardwise/shardwise/driver/channel/registry"
)

// TaskChannels is the channel part of one allocation's task config. It has
// the fields of the driver's TaskChannels (see driver/channels.go), which
// converts to it field by field.
type TaskChannels struct {
	Graph, Run, Shard, Job, AllocID, Task string
	// Recovered: the driver recovered the task with its command running;
	// FetchInputs fails every stream input not delivered whole
	// (ErrStreamCut).
	Recovered bool

	Inputs  []InputChannel
	Outputs []OutputChannel
}

// InputChannel is a channel entering the shard; Path is relative to the
// task dir ("" for a plain dependency, Name "").
type InputChannel struct {
	ID, From, FromTask, Name, ToTask string
	// FromAlloc is the producer's allocation the run names ("" when it
	// names none): only that allocation's registration is read.
	FromAlloc string
	Path      string
	Bytes     int64 // declared or predicted, bytes
	Stream    bool
}

// OutputChannel is a channel leaving the shard; Path is where the task
// writes it, relative to the task dir.
type OutputChannel struct {
	ID, FromTask, Name, To, ToTask, Path string
	Bytes                                int64 // declared or predicted, bytes
	Stream                               bool
}

// Registry is where channels are registered and found; *registry.Registry
// (Consul) implements it.
type Registry interface {
	Register(ctx context.Context, c registry.Channel) error
	Deregister(ctx context.Context, run, channel string) error
	Lookup(ctx context.Context, run, channel string, accept func(registry.Channel) bool) (registry.Channel, error)
	Wait(ctx context.Context, run, channel string, accept func(registry.Channel) bool, waiting func()) (registry.Channel, error)
	RunSecret(ctx context.Context, run string) (string, error)
	LocalIDs(ctx context.Context) (map[string]bool, error)
}

// Manager publishes a driver plugin's output channels, serves them, and
// fetches its tasks' input channels. It is safe for concurrent use by
// many tasks.
type Manager struct {
	cfg   Config
	log   hclog.Logger
	reg   Registry
	store *Store
	srv   *Server
	ident *connect.Identity // nil with InsecureChannels
	ln    net.Listener
	host  string
	port  int

	mu      sync.Mutex
	keys    map[string][]byte
	pumps   map[string]*pump        // in-memory stream outputs by alloc and path
	growing map[string]*growingFile // file-backed stream outputs by file path
	// registered is the last registration of each channel this manager
	// serves, by service ID: what resync restores when the agent lost it.
	registered map[string]registry.Channel

	stop chan struct{}
	wg   sync.WaitGroup
}

// NewManager opens the data dir, starts the channel server on
// BindAddr:Port, and re-registers the channels a previous process of the
// plugin published and nobody consumed yet.
func NewManager(cfg Config) (*Manager, error) {
	cfg = cfg.withDefaults()
	m := &Manager{cfg: cfg, log: cfg.Logger.Named("channels"), keys: map[string][]byte{},
		pumps: map[string]*pump{}, growing: map[string]*growingFile{},
		registered: map[string]registry.Channel{}, stop: make(chan struct{})}
	if err := m.open(); err != nil {
		return nil, err
	}
	m.wg.Add(2)
	go func() {
		defer m.wg.Done()
		if err := m.srv.Serve(m.ln); err != nil {
			m.log.Error("channel server stopped", "error", err)
		}
	}()
	go m.gcLoop()
	return m, nil
}

func (m *Manager) open() error {
	var err error
	if m.reg = m.cfg.Registry; m.reg == nil {
		if m.reg, err = registry.New(m.cfg.Consul, m.cfg.RegistryOptions); err != nil {
			return err
		}
	}
	if m.store, err = OpenStore(filepath.Join(m.cfg.DataDir, "store")); err != nil {
		return err
	}
	scfg := ServerConfig{FrameSize: m.cfg.FrameSize, CompressionLevel: m.cfg.CompressionLevel,
		Logger: m.log, Consumed: m.consumed}
	if err := m.secure(&scfg); err != nil {
		return err
	}
	for _, d := range []string{"fetched", "streams", "incoming", fileStreamsDir} {
		if err := os.MkdirAll(filepath.Join(m.cfg.DataDir, d), 0o700); err != nil {
			return fmt.Errorf("channel data dir: %w", err)
		}
	}
	addr := net.JoinHostPort(m.cfg.BindAddr, strconv.Itoa(m.cfg.Port))
	if m.ln, err = net.Listen("tcp", addr); err != nil {
		return fmt.Errorf("channel server listen on %s: %w", addr, err)
	}
	m.host, m.port = m.cfg.advertise(m.ln.Addr().(*net.TCPAddr).Port)
	m.srv = NewServer(m.store, scfg)
	m.reregister()
	m.restoreFileStreams()
	return nil
}

// secure gets the plugin's Connect identity and sets the server's mutual
// TLS and intentions check, or, with InsecureChannels, says loudly that
// channels travel in clear.
func (m *Manager) secure(scfg *ServerConfig) error {
	if m.cfg.InsecureChannels {
		m.log.Error("INSECURE CHANNELS: insecure_channels = true, channel data travels unencrypted and peers are " +
			"not checked against Consul Connect identities or intentions; use only on a trusted network")
		return nil
	}
	client, err := api.NewClient(m.consulConfig())
	if err != nil {
		return fmt.Errorf("consul client: %w", err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	m.ident, err = connect.Start(ctx, client, registry.ServiceName, m.log.Named("connect"))
	if err != nil {
		return fmt.Errorf("channels need Consul Connect for mutual TLS, and %w; enable Connect in Consul "+
			"or set insecure_channels = true in the plugin config to run channels unencrypted", err)
	}
	scfg.TLS = m.ident.ServerConfig()
	scfg.Authorize = connect.Authorizer(client, registry.ServiceName)
	m.log.Info("channels use mutual TLS 1.3 with Consul Connect identities", "service", registry.ServiceName,
		"trust_domain", m.ident.TrustDomain())
	return nil
}

// consulConfig returns a copy of the Consul client config (api.NewClient
// may change the one it is given).
func (m *Manager) consulConfig() *api.Config {
	if m.cfg.Consul == nil {
		return api.DefaultConfig()
	}
	c := *m.cfg.Consul
	return &c
}

// clientTLS returns the TLS config for fetching from a producer of
// service, nil without TLS.
func (m *Manager) clientTLS(service string) *tls.Config {
	if m.ident == nil {
		return nil
	}
	return m.ident.ClientConfig(service)
}

// Addr returns the host:port peers dial to reach this manager's server.
func (m *Manager) Addr() string { return net.JoinHostPort(m.host, strconv.Itoa(m.port)) }

// reregister registers again what the store holds (after a restart);
// failures are logged, the retention sweep retries them.
func (m *Manager) reregister() {
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	for _, e := range m.store.List() {
		if err := m.register(ctx, m.registration(e, registry.StateReady)); err != nil {
			m.log.Warn("re-register stored channel", "run", e.Run, "channel", e.Channel, "error", err)
		}
	}
}

// Close stops the server. Published channels stay on disk and in Consul:
// a restarted plugin serves them again (their TCP check fails meanwhile).
func (m *Manager) Close() error {
	select {
	case <-m.stop:
		return nil
	default:
		close(m.stop)
	}
	err := m.srv.Close()
	m.wg.Wait()
	if m.ident != nil {
		m.ident.Close()
	}
	return err
}

// runKey returns (and caches) the run's key: from the cluster secret when
// configured, else from the run's secret in the registry.
func (m *Manager) runKey(ctx context.Context, run string) ([]byte, error) {
	m.mu.Lock()
	k, ok := m.keys[run]
	m.mu.Unlock()
	if ok {
		return k, nil
	}
	var err error
	if m.cfg.Secret != "" {
		k, err = RunKey(m.cfg.Secret, "", run)
	} else {
		var secret string
		if secret, err = m.reg.RunSecret(ctx, run); err == nil {
			k, err = RunKey("", secret, run)
		}
	}
	if err != nil {
		return nil, fmt.Errorf("credential of run %s: %w", run, err)
	}
	m.mu.Lock()
	m.keys[run] = k
	m.mu.Unlock()
	return k, nil
}

// consumed runs when a consumer first verified a whole channel: it is
// deregistered and deleted ConsumedRetention later (or when the Retention
// sweep finds it first), so that a new allocation of the consumer still
// finds it. A manager closed before then leaves it to the sweep of the
// next one on its data dir.
func (m *Manager) consumed(e Entry) {
	m.wg.Add(1)
	go func() {
		defer m.wg.Done()
		t := time.NewTimer(m.cfg.ConsumedRetention)
		defer t.Stop()
		select {
		case <-m.stop:
		case <-t.C:
			if cur, _, ok := m.store.Get(e.Run, e.Channel); ok && !cur.Published.Equal(e.Published) {
				return // published again since (a new producer allocation): not this one's to drop
			}
			m.log.Debug("dropping consumed channel past its retention", "run", e.Run, "channel", e.Channel)
			m.drop(e)
		}
	}()
}

func (m *Manager) drop(e Entry) {
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	if err := m.deregister(ctx, e.Run, e.Channel); err != nil {
		m.log.Warn("deregister channel", "run", e.Run, "channel", e.Channel, "error", err)
	}
	m.srv.RemoveStream(e.Run, e.Channel)
	m.dropFileStream(e)
	if err := m.store.Remove(e.Run, e.Channel); err != nil {
		m.log.Warn("remove channel", "run", e.Run, "channel", e.Channel, "error", err)
	}
}

// gcLoop drops channels older than Retention, checking every Retention/8,
// and restores lost registrations every resync interval.
func (m *Manager) gcLoop() {
	defer m.wg.Done()
	m.sweep()
	t := time.NewTicker(m.cfg.Retention / 8)
	defer t.Stop()
	r := time.NewTicker(m.cfg.resyncEvery())
	defer r.Stop()
	for {
		select {
		case <-m.stop:
			return
		case <-t.C:
			m.sweep()
		case <-r.C:
			m.resync()
		}
	}
}

// register registers a channel and remembers it for resync (also when
// the agent cannot be reached now).
func (m *Manager) register(ctx context.Context, c registry.Channel) error {
	m.mu.Lock()
	m.registered[registry.ServiceID(c.Run, c.Channel)] = c
	m.mu.Unlock()
	return m.reg.Register(ctx, c)
}

func (m *Manager) deregister(ctx context.Context, run, channel string) error {
	m.mu.Lock()
	delete(m.registered, registry.ServiceID(run, channel))
	m.mu.Unlock()
	return m.reg.Deregister(ctx, run, channel)
}

// resync registers again the channels the local Consul agent no longer
// has (it restarted without its state, like a dev agent) or never got
// (it was down when they were published).
func (m *Manager) resync() {
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	ids, err := m.reg.LocalIDs(ctx)
	if err != nil {
		m.log.Debug("resync channel registrations", "error", err)
		return
	}
	m.mu.Lock()
	var missing []registry.Channel
	for id, c := range m.registered {
		if !ids[id] {
			missing = append(missing, c)
		}
	}
	m.mu.Unlock()
	for _, c := range missing {
		if err := m.reg.Register(ctx, c); err != nil {
			m.log.Warn("re-register channel", "run", c.Run, "channel", c.Channel, "error", err)
			continue
		}
		m.log.Info("re-registered channel the consul agent had lost", "run", c.Run, "channel", c.Channel)
	}
}

func (m *Manager) sweep() {
	cutoff := time.Now().Add(-m.cfg.Retention)
	for _, e := range m.store.List() {
		if e.Published.Before(cutoff) {
			m.log.Info("dropping unconsumed channel past retention", "run", e.Run, "channel", e.Channel)
			m.drop(e)
		}
	}
	removeOlder(filepath.Join(m.cfg.DataDir, "fetched"), cutoff)
	removeOlder(filepath.Join(m.cfg.DataDir, "streams"), cutoff)
	removeOlder(filepath.Join(m.cfg.DataDir, fileStreamsDir), cutoff)
}

// removeOlder deletes the files in dir last modified before cutoff.
func removeOlder(dir string, cutoff time.Time) {
	des, _ := os.ReadDir(dir)
	for _, d := range des {
		if fi, err := d.Info(); err == nil && fi.ModTime().Before(cutoff) {
			os.Remove(filepath.Join(dir, d.Name()))
		}
	}
}

// registration is the registry record of a stored or streaming channel.
func (m *Manager) registration(e Entry, state string) registry.Channel {
	return registry.Channel{Graph: e.Graph, Run: e.Run, Shard: e.Shard, Channel: e.Channel, To: e.To, Job: e.Job, Alloc: e.Alloc,
		State: state, Format: e.Format, Size: e.Size, SHA256: e.SHA256, Address: m.host, Port: m.port}
}

// taskPath joins a task-relative path to the task dir, refusing paths that
// leave it.
func taskPath(taskDir, rel string) (string, error) {
	if !filepath.IsLocal(rel) {
		return "", fmt.Errorf("path %q is not inside the task dir", rel)
	}
	return filepath.Join(taskDir, rel), nil
}

// group runs fn for every index in [0, n) concurrently and returns the
// first error; the others are cancelled through ctx.
func group(ctx context.Context, n int, fn func(ctx context.Context, i int) error) error {
	ctx, cancel := context.WithCancelCause(ctx)
	defer cancel(nil)
	var wg sync.WaitGroup
	for i := range n {
		wg.Go(func() {
			if err := fn(ctx, i); err != nil {
				cancel(err)
			}
		})
	}
	wg.Wait()
	if err := context.Cause(ctx); err != nil && !errors.Is(err, context.Canceled) {
		return err
	}
	return ctx.Err()
}
