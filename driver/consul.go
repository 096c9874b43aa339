package driver

import (
	"context"
	"errors"
	"fmt"

	consulapi "github.com/hashicorp/consul/api"
)

// APIConfig returns the Consul client config of c: the Consul client's
// environment defaults (consulapi.DefaultConfig) overridden by every field
// that c sets. The channel manager and the fingerprint both use it.
func (c ConsulConfig) APIConfig() *consulapi.Config {
	cfg := consulapi.DefaultConfig()
	if c.Address != "" {
		cfg.Address = c.Address
	}
	if c.Token != "" {
		cfg.Token = c.Token
	}
	if c.CAFile != "" {
		cfg.TLSConfig.CAFile = c.CAFile
	}
	if c.CertFile != "" {
		cfg.TLSConfig.CertFile = c.CertFile
	}
	if c.KeyFile != "" {
		cfg.TLSConfig.KeyFile = c.KeyFile
	}
	if c.TLSServerName != "" {
		cfg.TLSConfig.Address = c.TLSServerName
	}
	if c.InsecureSkipVerify {
		cfg.TLSConfig.InsecureSkipVerify = true
	}
	return cfg
}

// errNoLeader is returned by consulLeader when Consul answers but has no
// leader, so it cannot register or look up channels.
var errNoLeader = errors.New("consul answers but has no leader")

// consulLeader asks Consul for its raft leader; it returns the leader's
// address, or an error when Consul does not answer within ctx or has no
// leader.
func consulLeader(ctx context.Context, c ConsulConfig) (string, error) {
	cfg := c.APIConfig()
	client, err := consulapi.NewClient(cfg)
	if err != nil {
		return "", fmt.Errorf("consul client for %s: %w", cfg.Address, err)
	}
	leader, err := client.Status().LeaderWithQueryOptions((&consulapi.QueryOptions{}).WithContext(ctx))
	if err != nil {
		return "", fmt.Errorf("consul at %s: %w", cfg.Address, err)
	}
	if leader == "" {
		return "", fmt.Errorf("consul at %s: %w", cfg.Address, errNoLeader)
	}
	return leader, nil
}
