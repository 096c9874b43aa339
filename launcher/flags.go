package launcher

import (
	"cmp"
	"crypto/tls"
	"flag"
	"fmt"
	"net/http"
	"net/url"
	"os"
	"strconv"
	"strings"
	"time"

	"github.com/hashicorp/go-cleanhttp"
	"github.com/hashicorp/nomad/api"
)

// UsageError is an error in how a command was invoked: a malformed flag
// or environment variable (the CLI exits 2).
type UsageError struct{ Msg string }

func (e *UsageError) Error() string { return e.Msg }

// NomadFlags are the Nomad CLI's connection flags, the one copy every
// Shardwise command that talks to Nomad registers. Each defaults to its
// environment variable, as in the Nomad CLI; api.DefaultConfig reads the
// same variables, and a flag given on the command line wins.
type NomadFlags struct {
	address, token, namespace, region     string
	caCert, caPath, clientCert, clientKey string
	tlsServerName                         string
	tlsSkipVerify                         bool
}

// Register adds the connection flags to fs.
func (n *NomadFlags) Register(fs *flag.FlagSet) {
	fs.StringVar(&n.address, "address", "", "Address of the Nomad agent (NOMAD_ADDR; default http://127.0.0.1:4646).")
	fs.StringVar(&n.token, "token", "", "Nomad ACL token (NOMAD_TOKEN).")
	fs.StringVar(&n.namespace, "namespace", "", "Nomad namespace of jobs that name none (NOMAD_NAMESPACE; default \"default\").")
	fs.StringVar(&n.region, "region", "", "Nomad region to send requests to (NOMAD_REGION).")
	fs.StringVar(&n.caCert, "ca-cert", "", "PEM CA certificate file to verify the agent's TLS certificate (NOMAD_CACERT).")
	fs.StringVar(&n.caPath, "ca-path", "", "Folder of PEM CA certificates (NOMAD_CAPATH).")
	fs.StringVar(&n.clientCert, "client-cert", "", "PEM client certificate for TLS (NOMAD_CLIENT_CERT).")
	fs.StringVar(&n.clientKey, "client-key", "", "PEM private key of -client-cert (NOMAD_CLIENT_KEY).")
	fs.StringVar(&n.tlsServerName, "tls-server-name", "", "Server name to verify the agent's TLS certificate against (NOMAD_TLS_SERVER_NAME).")
	fs.BoolVar(&n.tlsSkipVerify, "tls-skip-verify", false, "Do not verify the agent's TLS certificate; insecure (NOMAD_SKIP_VERIFY).")
}

// Client returns an API client configured from the environment and the
// flags set on the command line (fs must have been parsed). It returns a
// *UsageError for a malformed NOMAD_SKIP_VERIFY or a client certificate
// without its key, and an error naming the flag for TLS files that cannot
// be read.
func (n *NomadFlags) Client(fs *flag.FlagSet) (*api.Client, error) {
	set := map[string]bool{}
	fs.Visit(func(f *flag.Flag) { set[f.Name] = true })
	if v := os.Getenv("NOMAD_SKIP_VERIFY"); v != "" && !set["tls-skip-verify"] {
		if _, err := strconv.ParseBool(v); err != nil {
			return nil, &UsageError{Msg: fmt.Sprintf("invalid NOMAD_SKIP_VERIFY %q: want true or false", v)}
		}
	}
	cfg := api.DefaultConfig()
	n.apply(cfg, set)
	if err := checkAddress(cfg.Address); err != nil {
		return nil, err
	}
	if err := checkTLSFiles(cfg.TLSConfig); err != nil {
		return nil, err
	}
	if err := boundConnections(cfg); err != nil {
		return nil, err
	}
	c, err := api.NewClient(cfg)
	if err != nil {
		return nil, fmt.Errorf("configure the Nomad client for %s: %w", cfg.Address, err)
	}
	return c, nil
}

// apply overrides cfg with the flags given on the command line.
func (n *NomadFlags) apply(cfg *api.Config, set map[string]bool) {
	str := func(name, v string, dst *string) {
		if set[name] {
			*dst = v
		}
	}
	str("address", n.address, &cfg.Address)
	str("token", n.token, &cfg.SecretID)
	str("namespace", n.namespace, &cfg.Namespace)
	str("region", n.region, &cfg.Region)
	tls := cfg.TLSConfig
	str("ca-cert", n.caCert, &tls.CACert)
	str("ca-path", n.caPath, &tls.CAPath)
	str("client-cert", n.clientCert, &tls.ClientCert)
	str("client-key", n.clientKey, &tls.ClientKey)
	str("tls-server-name", n.tlsServerName, &tls.TLSServerName)
	if set["tls-skip-verify"] {
		tls.Insecure = n.tlsSkipVerify
	}
}

// checkAddress returns a *UsageError for an agent address that is not an
// http:// or https:// URL with a host, nor a unix: socket, such as
// "localhost:4646": the API client would fail each request with
// "unsupported protocol scheme" instead.
func checkAddress(addr string) error {
	if strings.HasPrefix(addr, "unix:") {
		return nil
	}
	u, err := url.Parse(addr)
	if err == nil && (u.Scheme == "http" || u.Scheme == "https") && u.Host != "" {
		return nil
	}
	msg := fmt.Sprintf("invalid Nomad agent address %q (-address or NOMAD_ADDR): want http://HOST:PORT or https://HOST:PORT", addr)
	if !strings.Contains(addr, "://") {
		msg += fmt.Sprintf(`, such as "http://%s"`, addr)
	}
	return &UsageError{Msg: msg}
}

// checkTLSFiles returns an error naming the flag of a TLS file that does
// not exist or cannot be read, before any connection is tried.
func checkTLSFiles(tls *api.TLSConfig) error {
	files := []struct{ flag, path string }{
		{"-ca-cert (NOMAD_CACERT)", tls.CACert},
		{"-ca-path (NOMAD_CAPATH)", tls.CAPath},
		{"-client-cert (NOMAD_CLIENT_CERT)", tls.ClientCert},
		{"-client-key (NOMAD_CLIENT_KEY)", tls.ClientKey},
	}
	for _, f := range files {
		if f.path == "" {
			continue
		}
		if _, err := os.Stat(f.path); err != nil {
			return fmt.Errorf("%s: %w", f.flag, err)
		}
	}
	if (tls.ClientCert == "") != (tls.ClientKey == "") {
		return &UsageError{Msg: "-client-cert and -client-key (NOMAD_CLIENT_CERT, NOMAD_CLIENT_KEY) go together"}
	}
	return nil
}

// Token returns the ACL token the flags give: -token, else NOMAD_TOKEN.
func (n *NomadFlags) Token() string { return cmp.Or(n.token, os.Getenv("NOMAD_TOKEN")) }

// Namespace returns the namespace the flags give: -namespace, else
// NOMAD_NAMESPACE; "" when neither names one (Nomad's "default").
func (n *NomadFlags) Namespace() string { return cmp.Or(n.namespace, os.Getenv("NOMAD_NAMESPACE")) }

// Region returns the region the flags give: -region, else NOMAD_REGION.
func (n *NomadFlags) Region() string { return cmp.Or(n.region, os.Getenv("NOMAD_REGION")) }

// MaxAgentConns bounds the HTTP connections the CLI keeps to one Nomad
// agent, event streams included; requests beyond it wait for a free one.
// Nomad refuses a client IP more than limits.http_max_conns_per_client
// (100 by default) with "429 Too Many Requests".
const MaxAgentConns = 16

// boundConnections gives cfg an HTTP client like the API's default (pooled
// keep-alive connections, HTTP/1.1, TLS from cfg.TLSConfig) that keeps at
// most MaxAgentConns connections per agent, all reusable when idle. A
// unix socket address keeps the API's own client.
func boundConnections(cfg *api.Config) error {
	if strings.HasPrefix(cfg.Address, "unix:") {
		return nil
	}
	hc := cleanhttp.DefaultPooledClient()
	tr := hc.Transport.(*http.Transport)
	tr.MaxConnsPerHost = MaxAgentConns
	tr.MaxIdleConnsPerHost = MaxAgentConns
	tr.TLSHandshakeTimeout = 10 * time.Second
	tr.TLSClientConfig = &tls.Config{MinVersion: tls.VersionTLS12}
	tr.ForceAttemptHTTP2 = false // as the API's client: alloc exec needs HTTP/1
	if err := api.ConfigureTLS(hc, cfg.TLSConfig); err != nil {
		return fmt.Errorf("configure TLS for the Nomad client: %w", err)
	}
	cfg.HttpClient = hc
	return nil
}
