// Package registry registers a run's channels in Consul and finds them.
//
// Each published channel is one instance of the Consul service
// ServiceName, registered with the producer node's local agent: address and
// port are the producer's channel server, the service ID is ServiceID(run,
// channel), and the meta holds graph, run, shard, channel, to, state,
// format, size (bytes, -1 while unknown) and sha256 (hex). A TCP check on
// the channel server marks the instance critical when the server stops;
// Consul removes an instance critical for longer than
// Options.DeregisterCriticalAfter. Consumers find channels with blocking
// queries on the health endpoint, passing instances only, filtered on the
// run and channel meta.
//
// When no cluster secret is configured, the per-run channel secret lives
// in the Consul KV store under "shardwise/runs/<run>-<hash>/channel-secret"; it is
// created by whichever plugin needs it first (check-and-set), so every peer
// of the run reads the same value. Protect that prefix with a Consul ACL
// that only the driver plugins' token can read.
package registry

import (
	"context"
	"crypto/rand"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"net"
	"strconv"
	"strings"
	"time"

	"github.com/hashicorp/consul/api"

	"github.com/shardwise/shardwise/internal/ctxutil"
)

// ServiceName is the Consul service every channel registers as.
const ServiceName = "shardwise-channel"

// Channel states, in meta "state".
const (
	// StateStreaming: a stream being produced; consumers may start.
	StateStreaming = "streaming"
	// StateReady: complete; size and sha256 are final.
	StateReady = "ready"
	// StateFailed: the producer failed; consumers should fail too.
	StateFailed = "failed"
)

// ErrNotFound is returned by Lookup callers' resolvers when a channel is no
// longer registered or its check is critical.
var ErrNotFound = errors.New("channel not registered")

// Channel is one registered channel.
type Channel struct {
	Graph, Run, Shard, Channel string
	// To is the consuming shard.
	To string
	// State is StateStreaming, StateReady or StateFailed.
	State string
	// Format is how the bytes are laid out (package channel's Format*).
	Format string
	// Size is in bytes, -1 while unknown; SHA256 is hex, "" while unknown.
	Size   int64
	SHA256 string
	// Address and Port locate the producer's channel server.
	Address string
	Port    int
	// Job and Alloc are the Nomad job and allocation that produced the
	// channel; a consumer that knows its upstream allocation accepts only
	// that one's registration.
	Job, Alloc string
	// Node is the Consul node of the producer (set by lookups).
	Node string
}

// Addr returns host:port of the producer's channel server.
func (c Channel) Addr() string { return net.JoinHostPort(c.Address, strconv.Itoa(c.Port)) }

// Options tune the registration. Zero values take the defaults.
type Options struct {
	// CheckInterval is the TCP check's period (default 10s); CheckTimeout
	// bounds one check (default 2s).
	CheckInterval, CheckTimeout time.Duration
	// DeregisterCriticalAfter is how long a critical instance stays
	// registered (default 30m; Consul's minimum is 1m).
	DeregisterCriticalAfter time.Duration
	// WaitTime bounds one blocking query (default 5m).
	WaitTime time.Duration
}

func (o Options) withDefaults() Options {
	if o.CheckInterval <= 0 {
		o.CheckInterval = 10 * time.Second
	}
	if o.CheckTimeout <= 0 {
		o.CheckTimeout = 2 * time.Second
	}
	if o.DeregisterCriticalAfter < time.Minute {
		o.DeregisterCriticalAfter = 30 * time.Minute
	}
	if o.WaitTime <= 0 {
		o.WaitTime = 5 * time.Minute
	}
	return o
}

// Registry talks to one Consul agent. It is safe for concurrent use.
type Registry struct {
	client *api.Client
	opts   Options
}

// New returns a registry using the Consul client config cfg (nil:
// api.DefaultConfig, which reads CONSUL_HTTP_ADDR and friends).
func New(cfg *api.Config, opts Options) (*Registry, error) {
	if cfg == nil {
		cfg = api.DefaultConfig()
	}
	c, err := api.NewClient(cfg)
	if err != nil {
		return nil, fmt.Errorf("consul client: %w", err)
	}
	return &Registry{client: c, opts: opts.withDefaults()}, nil
}

// ServiceID is the Consul service ID of a channel: readable names plus a
// hash of the exact names, so that distinct channels never collide.
func ServiceID(run, channel string) string {
	h := sha256.Sum256([]byte(run + "\x00" + channel))
	return ServiceName + "-" + safe(run) + "-" + safe(channel) + "-" + hex.EncodeToString(h[:6])
}

// SafeName maps s to at most n bytes of [A-Za-z0-9_-], replacing every
// other character with "_": readable parts of Consul service IDs and of
// the channel store's file names.
func SafeName(s string, n int) string {
	var b strings.Builder
	for _, r := range s {
		if b.Len() >= n {
			break
		}
		if r == '-' || r == '_' || r >= '0' && r <= '9' || r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' {
			b.WriteRune(r)
		} else {
			b.WriteByte('_')
		}
	}
	return b.String()
}

// safe is SafeName with at most 40 bytes, for service IDs.
func safe(s string) string { return SafeName(s, 40) }

// Register registers (or updates) a channel with the local agent, with a
// TCP check on its server that starts passing.
func (r *Registry) Register(ctx context.Context, c Channel) error {
	reg := &api.AgentServiceRegistration{
		ID:      ServiceID(c.Run, c.Channel),
		Name:    ServiceName,
		Address: c.Address,
		Port:    c.Port,
		Meta:    meta(c),
		Check: &api.AgentServiceCheck{
			Name:                           "channel server " + c.Addr(),
			TCP:                            c.Addr(),
			Interval:                       r.opts.CheckInterval.String(),
			Timeout:                        r.opts.CheckTimeout.String(),
			Status:                         api.HealthPassing,
			DeregisterCriticalServiceAfter: r.opts.DeregisterCriticalAfter.String(),
		},
	}
	opts := api.ServiceRegisterOpts{ReplaceExistingChecks: true}.WithContext(ctx)
	if err := r.client.Agent().ServiceRegisterOpts(reg, opts); err != nil {
		return fmt.Errorf("register channel %s of run %s in consul: %w", c.Channel, c.Run, err)
	}
	return nil
}

func meta(c Channel) map[string]string {
	return map[string]string{
		"graph": c.Graph, "run": c.Run, "shard": c.Shard, "channel": c.Channel, "to": c.To,
		"state": c.State, "format": c.Format, "size": strconv.FormatInt(c.Size, 10), "sha256": c.SHA256,
		"job": c.Job, "alloc": c.Alloc,
	}
}

// Deregister removes a channel from the local agent; an unknown channel is
// not an error.
func (r *Registry) Deregister(ctx context.Context, run, channel string) error {
	err := r.client.Agent().ServiceDeregisterOpts(ServiceID(run, channel), (&api.QueryOptions{}).WithContext(ctx))
	var se api.StatusError
	if errors.As(err, &se) && se.Code == 404 {
		return nil
	}
	if err != nil {
		return fmt.Errorf("deregister channel %s of run %s from consul: %w", channel, run, err)
	}
	return nil
}

// LocalIDs returns the service IDs of the channels registered with the
// local agent (an agent that restarted without its state has none).
func (r *Registry) LocalIDs(ctx context.Context) (map[string]bool, error) {
	q := (&api.QueryOptions{}).WithContext(ctx)
	svcs, err := r.client.Agent().ServicesWithFilterOpts(fmt.Sprintf("Service == %q", ServiceName), q)
	if err != nil {
		return nil, fmt.Errorf("list channels registered with the local consul agent: %w", err)
	}
	ids := make(map[string]bool, len(svcs))
	for id := range svcs {
		ids[id] = true
	}
	return ids, nil
}

// filter selects one channel's instances.
func filter(run, channel string) string {
	return fmt.Sprintf("Service.Meta.run == %s and Service.Meta.channel == %s", strconv.Quote(run), strconv.Quote(channel))
}

// query runs one (blocking when index > 0) health query for a channel and
// returns its passing instances and the index to wait on next.
func (r *Registry) query(ctx context.Context, run, channel string, index uint64) ([]Channel, uint64, error) {
	q := (&api.QueryOptions{WaitIndex: index, WaitTime: r.opts.WaitTime, Filter: filter(run, channel)}).WithContext(ctx)
	entries, qm, err := r.client.Health().Service(ServiceName, "", true, q)
	if err != nil {
		return nil, index, fmt.Errorf("consul query for channel %s of run %s: %w", channel, run, err)
	}
	out := make([]Channel, 0, len(entries))
	for _, e := range entries {
		out = append(out, fromEntry(e))
	}
	next := qm.LastIndex
	if next < index || next == 0 {
		next = 1 // the index went backwards: start over (Consul's advice)
	}
	return out, next, nil
}

func fromEntry(e *api.ServiceEntry) Channel {
	m := e.Service.Meta
	size, err := strconv.ParseInt(m["size"], 10, 64)
	if err != nil {
		size = -1
	}
	addr := e.Service.Address
	if addr == "" {
		addr = e.Node.Address
	}
	return Channel{Graph: m["graph"], Run: m["run"], Shard: m["shard"], Channel: m["channel"], To: m["to"],
		State: m["state"], Format: m["format"], Size: size, SHA256: m["sha256"], Job: m["job"], Alloc: m["alloc"],
		Address: addr, Port: e.Service.Port, Node: e.Node.Node}
}

// Lookup returns a passing instance of the channel that satisfies accept
// (nil accepts any) without waiting; it returns an error wrapping
// ErrNotFound when there is none.
func (r *Registry) Lookup(ctx context.Context, run, channel string, accept func(Channel) bool) (Channel, error) {
	cs, _, err := r.query(ctx, run, channel, 0)
	if err != nil {
		return Channel{}, err
	}
	for _, c := range cs {
		if accept == nil || accept(c) {
			return c, nil
		}
	}
	return Channel{}, fmt.Errorf("channel %s of run %s: %w", channel, run, ErrNotFound)
}

// Wait blocks, with Consul blocking queries, until a passing instance of
// the channel satisfies accept, and returns it. It calls waiting (if not
// nil) once, the first time the answer is not acceptable. It returns ctx's
// error when ctx ends, and the query error after 24 consecutive failed
// queries (with backoff between them, from 100ms to 5s: about 100 s, so
// that a restarting agent is waited for).
func (r *Registry) Wait(ctx context.Context, run, channel string, accept func(Channel) bool, waiting func()) (Channel, error) {
	var index uint64
	failures := 0
	for {
		cs, next, err := r.query(ctx, run, channel, index)
		if err != nil {
			if ctx.Err() != nil {
				return Channel{}, ctx.Err()
			}
			if failures++; failures >= 24 {
				return Channel{}, err
			}
			if werr := pause(ctx, failures); werr != nil {
				return Channel{}, werr
			}
			continue
		}
		failures = 0
		for _, c := range cs {
			if accept(c) {
				return c, nil
			}
		}
		if waiting != nil {
			waiting()
			waiting = nil
		}
		index = next
	}
}

// WaitGone blocks, with blocking queries, until the channel has no passing
// instance (deregistered, or its check critical). It returns ctx's error or
// a query error.
func (r *Registry) WaitGone(ctx context.Context, run, channel string) error {
	var index uint64
	for {
		cs, next, err := r.query(ctx, run, channel, index)
		if err != nil {
			return err
		}
		if len(cs) == 0 {
			return nil
		}
		index = next
	}
}

// pause waits 100ms·2^(failures-1), at most 5s, or until ctx ends.
func pause(ctx context.Context, failures int) error {
	return ctxutil.Sleep(ctx, min(100*time.Millisecond<<min(failures-1, 6), 5*time.Second))
}

// secretKey is the KV key of a run's channel secret.
func secretKey(run string) string {
	h := sha256.Sum256([]byte(run))
	return "shardwise/runs/" + safe(run) + "-" + hex.EncodeToString(h[:6]) + "/channel-secret"
}

// RunSecret returns the run's channel secret from the KV store, creating a
// random 256-bit one (check-and-set, so concurrent creators agree) when
// there is none.
func (r *Registry) RunSecret(ctx context.Context, run string) (string, error) {
	key := secretKey(run)
	kv := r.client.KV()
	for range 3 {
		p, _, err := kv.Get(key, (&api.QueryOptions{RequireConsistent: true}).WithContext(ctx))
		if err != nil {
			return "", fmt.Errorf("read run secret of %s: %w", run, err)
		}
		if p != nil && len(p.Value) > 0 {
			return string(p.Value), nil
		}
		var b [32]byte
		if _, err := rand.Read(b[:]); err != nil {
			return "", err
		}
		ok, _, err := kv.CAS(&api.KVPair{Key: key, Value: []byte(hex.EncodeToString(b[:]))}, (&api.WriteOptions{}).WithContext(ctx))
		if err != nil {
			return "", fmt.Errorf("create run secret of %s: %w", run, err)
		}
		_ = ok // created, or lost the race: read the winner's value
	}
	return "", fmt.Errorf("run secret of %s: no value after 3 tries", run)
}

// DeleteRunSecret removes a run's channel secret (when the run ends).
func (r *Registry) DeleteRunSecret(ctx context.Context, run string) error {
	if _, err := r.client.KV().Delete(secretKey(run), (&api.WriteOptions{}).WithContext(ctx)); err != nil {
		return fmt.Errorf("delete run secret of %s: %w", run, err)
	}
	return nil
}

// DenyAllButChannels writes the service-intentions config entry of the
// channel service: channel servers accept only clients with the identity
// of the channel service itself, every other service is denied, whatever
// the cluster's default intention policy. It replaces an existing entry.
// Clusters that want other consumers (say a job's own Connect service)
// add sources to that entry instead.
func DenyAllButChannels(ctx context.Context, client *api.Client) error {
	entry := &api.ServiceIntentionsConfigEntry{
		Kind: api.ServiceIntentions,
		Name: ServiceName,
		Sources: []*api.SourceIntention{
			{Name: ServiceName, Action: api.IntentionActionAllow},
			{Name: "*", Action: api.IntentionActionDeny},
		},
	}
	// A new leader migrates the old intentions to config entries first and
	// refuses intention writes meanwhile: retry for up to 30 s.
	deadline := time.Now().Add(30 * time.Second)
	for failures := 1; ; failures++ {
		_, _, err := client.ConfigEntries().Set(entry, (&api.WriteOptions{}).WithContext(ctx))
		if err == nil {
			return nil
		}
		if time.Now().After(deadline) || ctx.Err() != nil {
			return fmt.Errorf("write intentions of %s: %w", ServiceName, err)
		}
		if werr := pause(ctx, failures); werr != nil {
			return fmt.Errorf("write intentions of %s: %w (last error: %w)", ServiceName, werr, err)
		}
	}
}
