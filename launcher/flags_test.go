package launcher

import (
	"net/http"
	"testing"

	"github.com/hashicorp/nomad/api"
)

// TestBoundConnections checks the Nomad client's HTTP transport: at most
// MaxAgentConns connections per agent, as many kept idle for reuse, and
// the TLS settings of the config applied.
func TestBoundConnections(t *testing.T) {
	cfg := api.DefaultConfig()
	cfg.TLSConfig.Insecure, cfg.TLSConfig.TLSServerName = true, "nomad.example"
	if err := boundConnections(cfg); err != nil {
		t.Fatal(err)
	}
	tr := cfg.HttpClient.Transport.(*http.Transport)
	if tr.MaxConnsPerHost != MaxAgentConns || tr.MaxIdleConnsPerHost != MaxAgentConns {
		t.Errorf("max conns %d, idle %d; want %d", tr.MaxConnsPerHost, tr.MaxIdleConnsPerHost, MaxAgentConns)
	}
	if !tr.TLSClientConfig.InsecureSkipVerify || tr.TLSClientConfig.ServerName != "nomad.example" {
		t.Errorf("TLS settings not applied: %+v", tr.TLSClientConfig)
	}
}
