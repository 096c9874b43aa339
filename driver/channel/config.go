package channel

import (
	"net"
	"os"
	"path/filepath"
	"strconv"
	"time"

	"github.com/hashicorp/consul/api"
	hclog "github.com/hashicorp/go-hclog"
	"github.com/shardwise/shardwise/driver/channel/registry"
)

// Config configures a Manager: one per driver plugin process.
type Config struct {
	// BindAddr is the channel server's listen address (default "0.0.0.0").
	BindAddr string
	// Port is the channel server's TCP port; 0 picks a free one.
	Port int
	// AdvertiseAddr is the host, or host:port, that peers dial (default:
	// BindAddr, or the host's first non-loopback address when BindAddr is
	// unspecified).
	AdvertiseAddr string
	// DataDir holds published channels ("store"), fetch markers ("fetched")
	// and stream resume states ("streams"); default
	// os.TempDir()/nomad-driver-shard/channels.
	DataDir string
	// CompressionLevel is the zstd level of transfers, 1 (fastest) to 22;
	// 0 or less sends raw frames.
	CompressionLevel int
	// Consul is the Consul client config (nil: api.DefaultConfig, from the
	// environment).
	Consul *api.Config
	// Registry overrides Consul (tests, other registries); nil uses Consul.
	Registry Registry
	// Secret is the cluster secret run keys derive from (RunKey); when it
	// is empty each run's secret is kept in Consul KV (registry.RunSecret).
	Secret string
	// MemoryStreams serves stream outputs through a named pipe and an
	// in-memory window of StreamWindow bytes: bounded memory and
	// back-pressure on the task, but a plugin restart loses the stream.
	// By default (false) a stream output is the regular file the task
	// writes, served as it grows: it survives a plugin restart (consumers
	// resume at their offset) and needs disk for the whole stream.
	MemoryStreams bool
	// StreamWindow is how far, in bytes, a stream's producer may run ahead
	// of its consumer with MemoryStreams (default 8 MiB).
	StreamWindow int
	// FrameSize is the raw bytes per frame (default DefaultFrameSize).
	FrameSize int
	// Retry bounds each fetch's attempts (default DefaultRetryPolicy).
	Retry RetryPolicy
	// Retention is how long a published channel nobody consumed is kept
	// (default 24h); older ones are deregistered and deleted.
	Retention time.Duration
	// ConsumedRetention is how long a channel stays registered and stored
	// after its first complete fetch (default 1h, at most Retention): a
	// new allocation of the consumer (a Nomad reschedule or a launcher
	// retry after the task failed) fetches the same bytes again. A
	// consumer's fetch says only that the bytes arrived, not that its task
	// succeeded, so the producer cannot delete at once.
	ConsumedRetention time.Duration
	// GoneAfter is how long a consumer that the run tells its producer's
	// allocation (InputChannel.FromAlloc, set once that allocation has
	// completed) waits for a file channel before it fails with
	// ErrUpstreamGone (default 2m): a completed producer registered its
	// channels before it completed, so a channel still missing then was
	// lost with the producer's node or data, and will not come.
	GoneAfter time.Duration
	// Channel servers and clients present the Connect identity of the
	// service channels register as (registry.ServiceName), and a consumer
	// requires it of the producer; intentions naming that service decide
	// who may pull.
	//
	// InsecureChannels turns TLS off: channels travel in clear, peers
	// prove only the run key. Without it the manager needs Consul Connect
	// (a leaf certificate and the CA roots from the local agent) and
	// NewManager fails when Connect is unavailable.
	InsecureChannels bool
	// RegistryOptions tune the Consul registration.
	RegistryOptions registry.Options
	// Logger receives the manager's and the server's logs.
	Logger hclog.Logger
}

// Default values of Config.
const (
	DefaultStreamWindow = 8 << 20
	DefaultRetention    = 24 * time.Hour
	// DefaultConsumedRetention bounds the launcher's retries of a
	// consumer (and Nomad's reschedules) that still find their input.
	DefaultConsumedRetention = time.Hour
	// DefaultGoneAfter covers a producer plugin restarting, its first
	// passing check (10 s) and a Consul agent restart (about 100 s).
	DefaultGoneAfter = 2 * time.Minute
)

// resyncEvery is how often a manager checks that the local agent still
// has its registrations: the TCP check's interval.
func (c Config) resyncEvery() time.Duration {
	if c.RegistryOptions.CheckInterval > 0 {
		return c.RegistryOptions.CheckInterval
	}
	return 10 * time.Second
}

func (c Config) withDefaults() Config {
	if c.BindAddr == "" {
		c.BindAddr = "0.0.0.0"
	}
	if c.DataDir == "" {
		c.DataDir = filepath.Join(os.TempDir(), "nomad-driver-shard", "channels")
	}
	if c.StreamWindow <= 0 {
		c.StreamWindow = DefaultStreamWindow
	}
	if c.Retention <= 0 {
		c.Retention = DefaultRetention
	}
	if c.ConsumedRetention <= 0 {
		c.ConsumedRetention = DefaultConsumedRetention
	}
	c.ConsumedRetention = min(c.ConsumedRetention, c.Retention)
	if c.GoneAfter <= 0 {
		c.GoneAfter = DefaultGoneAfter
	}
	if c.Logger == nil {
		c.Logger = hclog.NewNullLogger()
	}

	return c
}

// advertise returns the host and port peers dial, given the bound port.
func (c Config) advertise(boundPort int) (string, int) {
	host, port := c.AdvertiseAddr, boundPort
	if h, p, err := net.SplitHostPort(c.AdvertiseAddr); err == nil {
		if n, err := strconv.Atoi(p); err == nil {
			host, port = h, n
		}
	}
	if host == "" {
		host = c.BindAddr
	}
	if ip := net.ParseIP(host); ip != nil && ip.IsUnspecified() {
		host = firstHostAddr()
	}
	return host, port
}

// firstHostAddr returns the first non-loopback unicast IPv4 address of the
// host, or 127.0.0.1.
func firstHostAddr() string {
	addrs, err := net.InterfaceAddrs()
	if err == nil {
		for _, a := range addrs {
			if n, ok := a.(*net.IPNet); ok && n.IP.To4() != nil && !n.IP.IsLoopback() && n.IP.IsGlobalUnicast() {
				return n.IP.String()
			}
		}
	}
	return "127.0.0.1"
}
