// Package connect gives channel connections Consul Connect identities:
// mutual TLS 1.3 with a leaf certificate for a service from the local
// Consul agent (/v1/agent/connect/ca/leaf/<service>), the Connect CA roots
// (/v1/agent/connect/ca/roots) as the only trust anchors, SPIFFE identity
// checks on both ends, and Consul intentions
// (/v1/agent/connect/authorize) deciding which client services a server
// accepts.
//
// Certificates and roots are watched with blocking queries, so a rotated
// leaf or a new root is used from the next handshake on, without a
// restart. Private keys stay in memory: never on disk, in logs or in
// errors.
package connect

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"net/url"
	"strings"
	"sync"
	"time"

	"github.com/hashicorp/consul/api"
	hclog "github.com/hashicorp/go-hclog"
)

// ErrUnavailable wraps the reason a Connect identity could not be had
// (Connect disabled in Consul, no permission for the leaf, agent down).
var ErrUnavailable = errors.New("consul connect unavailable")

// ErrIdentity is wrapped by a handshake refusal of a peer whose
// certificate is valid but names another service (or no service).
var ErrIdentity = errors.New("peer identity refused")

// ErrUntrusted is wrapped by a handshake refusal of a peer without a
// certificate or with one the current Connect roots do not sign (an
// impostor, or a CA that changed and that one end has not seen yet).
var ErrUntrusted = errors.New("peer certificate not trusted")

// Identity is one service's Connect identity, kept current. It is safe
// for concurrent use.
type Identity struct {
	agent   *api.Agent
	service string
	log     hclog.Logger

	mu          sync.RWMutex
	cert        *tls.Certificate
	leafExpires time.Time
	roots       *x509.CertPool
	trustDomain string

	cancel context.CancelFunc
	wg     sync.WaitGroup
}

// Start fetches the leaf certificate of service and the CA roots from the
// local agent of client, then keeps both current in the background until
// Close. It returns an error wrapping ErrUnavailable when the agent cannot
// give them (Connect disabled, no permission, agent unreachable).
func Start(ctx context.Context, client *api.Client, service string, log hclog.Logger) (*Identity, error) {
	if log == nil {
		log = hclog.NewNullLogger()
	}
	id := &Identity{agent: client.Agent(), service: service, log: log}
	rootsIdx, err := retryStart(ctx, func() (uint64, error) { return id.fetchRoots(ctx, 0) })
	if err != nil {
		return nil, err
	}
	leafIdx, err := retryStart(ctx, func() (uint64, error) { return id.fetchLeaf(ctx, 0) })
	if err != nil {
		return nil, err
	}
	wctx, cancel := context.WithCancel(context.Background())
	id.cancel = cancel
	id.wg.Add(2)
	go id.watch(wctx, "CA roots", rootsIdx, id.fetchRoots)
	go id.watch(wctx, "leaf certificate", leafIdx, id.fetchLeaf)
	return id, nil
}

// retryStart runs fetch until it succeeds, fails for good (Connect
// disabled, permission denied) or ctx ends: an agent that is restarting
// or a CA not initialized yet is waited for, from 250 ms to 4 s apart.
func retryStart(ctx context.Context, fetch func() (uint64, error)) (uint64, error) {
	wait := 250 * time.Millisecond
	for {
		idx, err := fetch()
		if err == nil || final(err) {
			return idx, err
		}
		select {
		case <-ctx.Done():
			return 0, err
		case <-time.After(wait):
		}
		wait = min(2*wait, 4*time.Second)
	}
}

// final reports whether err from the agent cannot go away by waiting:
// Connect disabled, or an ACL refusal.
func final(err error) bool {
	var se api.StatusError
	if errors.As(err, &se) {
		return se.Code == 403 || strings.Contains(se.Body, "Connect must be enabled") || strings.Contains(se.Body, "Connect is not enabled")
	}
	return false
}

// Service returns the service whose identity this is.
func (id *Identity) Service() string { return id.service }

// Leaf returns the current leaf certificate.
func (id *Identity) Leaf() *x509.Certificate {
	cert, _, _ := id.current()
	return cert.Leaf
}

// TrustDomain returns the Connect trust domain of the current roots.
func (id *Identity) TrustDomain() string {
	id.mu.RLock()
	defer id.mu.RUnlock()
	return id.trustDomain
}

// Close stops watching for rotations.
func (id *Identity) Close() {
	if id.cancel != nil {
		id.cancel()
	}
	id.wg.Wait()
}

// blockWait bounds one blocking query for a rotation.
const blockWait = 5 * time.Minute

func (id *Identity) fetchRoots(ctx context.Context, index uint64) (uint64, error) {
	q := (&api.QueryOptions{WaitIndex: index, WaitTime: blockWait}).WithContext(ctx)
	list, qm, err := id.agent.ConnectCARoots(q)
	if err != nil {
		return index, fmt.Errorf("%w: CA roots from the local agent: %w", ErrUnavailable, err)
	}
	pool := x509.NewCertPool()
	n := 0
	for _, r := range list.Roots {
		if pool.AppendCertsFromPEM([]byte(r.RootCertPEM)) {
			n++
		}
	}
	if n == 0 || list.TrustDomain == "" {
		return index, fmt.Errorf("%w: the agent returned no CA root (is Connect enabled?)", ErrUnavailable)
	}
	id.mu.Lock()
	changed := id.roots != nil && id.trustDomain != list.TrustDomain
	id.roots, id.trustDomain = pool, list.TrustDomain
	id.mu.Unlock()
	if changed {
		id.log.Warn("connect trust domain changed", "trust_domain", list.TrustDomain)
	}
	id.log.Debug("connect CA roots", "roots", n, "trust_domain", list.TrustDomain, "index", qm.LastIndex)
	return qm.LastIndex, nil
}

func (id *Identity) fetchLeaf(ctx context.Context, index uint64) (uint64, error) {
	q := (&api.QueryOptions{WaitIndex: index, WaitTime: blockWait}).WithContext(ctx)
	leaf, qm, err := id.agent.ConnectCALeaf(id.service, q)
	if err != nil {
		return index, fmt.Errorf("%w: leaf certificate of service %q from the local agent: %w", ErrUnavailable, id.service, err)
	}
	cert, err := tls.X509KeyPair([]byte(leaf.CertPEM), []byte(leaf.PrivateKeyPEM))
	if err != nil {
		// The error of X509KeyPair never holds key material.
		return index, fmt.Errorf("%w: leaf certificate of service %q: %w", ErrUnavailable, id.service, err)
	}
	id.mu.Lock()
	rotated := id.cert != nil
	id.cert, id.leafExpires = &cert, leaf.ValidBefore
	id.mu.Unlock()
	if rotated {
		id.log.Info("connect leaf certificate rotated", "service", id.service, "serial", leaf.SerialNumber,
			"valid_before", leaf.ValidBefore.UTC().Format(time.RFC3339))
	} else {
		id.log.Debug("connect leaf certificate", "service", id.service, "serial", leaf.SerialNumber, "uri", leaf.ServiceURI)
	}
	return qm.LastIndex, nil
}

// watch repeats a blocking fetch until ctx ends; failures keep the last
// good value and back off from 1 s to 5 s (an agent that restarts is back
// in seconds, possibly with a new CA).
func (id *Identity) watch(ctx context.Context, what string, index uint64, fetch func(context.Context, uint64) (uint64, error)) {
	defer id.wg.Done()
	backoff := time.Second
	for ctx.Err() == nil {
		next, err := fetch(ctx, index)
		if err != nil {
			if ctx.Err() != nil {
				return
			}
			id.log.Warn("watch connect "+what, "error", err, "retry_in", backoff.String())
			select {
			case <-ctx.Done():
				return
			case <-time.After(backoff):
			}
			backoff = min(backoff*2, 5*time.Second)
			// Ask afresh: an agent that restarted without its state
			// has lower indexes, and a blocking query on the old one
			// would wait for minutes.
			index = 0
			continue
		}
		backoff = time.Second
		if next < index {
			next = 0 // the index went backwards: start over
		}
		index = next
	}
}

func (id *Identity) current() (*tls.Certificate, *x509.CertPool, string) {
	id.mu.RLock()
	defer id.mu.RUnlock()
	return id.cert, id.roots, id.trustDomain
}

// ServerConfig returns the TLS config of a channel server: TLS 1.3 only,
// this identity's current leaf, and a client certificate required and
// verified against the current Connect roots (a SPIFFE service ID of this
// trust domain). Which services may connect is decided after the
// handshake (Authorizer), so that a refusal reaches the client as a
// clear answer rather than a TLS alert.
func (id *Identity) ServerConfig() *tls.Config {
	return &tls.Config{
		MinVersion: tls.VersionTLS13,
		ClientAuth: tls.RequireAnyClientCert,
		// Bulk transfers: full 16 KiB records from the first byte.
		DynamicRecordSizingDisabled: true,
		GetCertificate: func(*tls.ClientHelloInfo) (*tls.Certificate, error) {
			cert, _, _ := id.current()
			return cert, nil
		},
		VerifyConnection: func(cs tls.ConnectionState) error {
			_, _, err := id.verifyChain(cs)
			return err
		},
	}
}

// ClientConfig returns the TLS config for dialing a channel server of
// service: TLS 1.3 only, this identity's current leaf as the client
// certificate, and the server's certificate verified against the Connect
// roots with the SPIFFE ID of service in this identity's trust domain.
func (id *Identity) ClientConfig(service string) *tls.Config {
	return &tls.Config{
		MinVersion:                  tls.VersionTLS13,
		DynamicRecordSizingDisabled: true,
		// The server is identified by its SPIFFE URI, not a host name:
		// VerifyConnection does the whole verification.
		InsecureSkipVerify: true,
		GetClientCertificate: func(*tls.CertificateRequestInfo) (*tls.Certificate, error) {
			cert, _, _ := id.current()
			return cert, nil
		},
		VerifyConnection: func(cs tls.ConnectionState) error {
			uri, _, err := id.verifyChain(cs)
			if err != nil {
				return err
			}
			if got := ServiceOf(uri); got != service {
				return fmt.Errorf("%w: server is %s, expected service %q", ErrIdentity, uri, service)
			}
			return nil
		},
	}
}

// verifyChain checks the peer's certificate chain against the current
// Connect roots and returns its SPIFFE URI, which must be a service of
// this trust domain.
func (id *Identity) verifyChain(cs tls.ConnectionState) (*url.URL, *x509.Certificate, error) {
	if len(cs.PeerCertificates) == 0 {
		return nil, nil, fmt.Errorf("%w: no certificate", ErrUntrusted)
	}
	_, roots, domain := id.current()
	leaf := cs.PeerCertificates[0]
	inter := x509.NewCertPool()
	for _, c := range cs.PeerCertificates[1:] {
		inter.AddCert(c)
	}
	opts := x509.VerifyOptions{Roots: roots, Intermediates: inter, KeyUsages: []x509.ExtKeyUsage{x509.ExtKeyUsageAny}}
	if _, err := leaf.Verify(opts); err != nil {
		return nil, nil, fmt.Errorf("%w: certificate not from the Connect CA: %w", ErrUntrusted, err)
	}
	if len(leaf.URIs) != 1 {
		return nil, nil, fmt.Errorf("%w: certificate has %d URI SANs, want one SPIFFE ID", ErrIdentity, len(leaf.URIs))
	}
	uri := leaf.URIs[0]
	if uri.Scheme != "spiffe" || !strings.EqualFold(uri.Host, domain) || ServiceOf(uri) == "" {
		return nil, nil, fmt.Errorf("%w: %s is not a service of trust domain %s", ErrIdentity, uri, domain)
	}
	return uri, leaf, nil
}

// ServiceOf returns the service of a Connect SPIFFE ID
// (spiffe://<domain>/ns/<ns>/dc/<dc>/svc/<service>, or without the
// namespace), or "" when uri is not one.
func ServiceOf(uri *url.URL) string {
	parts := strings.Split(strings.TrimPrefix(uri.Path, "/"), "/")
	if n := len(parts); n >= 2 && parts[n-2] == "svc" {
		return parts[n-1]
	}
	return ""
}

// serialHex formats a certificate's serial number as Consul does
// (colon-separated hex bytes).
func serialHex(c *x509.Certificate) string {
	b := c.SerialNumber.Bytes()
	parts := make([]string, len(b))
	for i, v := range b {
		parts[i] = fmt.Sprintf("%02x", v)
	}
	return strings.Join(parts, ":")
}

// ErrDenied is wrapped by Authorizer's answer when the intentions deny
// the client; other errors mean the answer could not be had (retry).
var ErrDenied = errors.New("denied by intentions")

// Authorizer returns a function that decides, after a verified handshake,
// whether the client may connect to target: it asks the local agent
// (/v1/agent/connect/authorize, which applies the intentions and the
// default intention policy). It returns the client's SPIFFE ID and nil,
// an error wrapping ErrDenied with Consul's reason, or another error when
// the agent could not answer.
func Authorizer(client *api.Client, target string) func(ctx context.Context, cs tls.ConnectionState) (string, error) {
	agent := client.Agent()
	return func(ctx context.Context, cs tls.ConnectionState) (string, error) {
		if len(cs.PeerCertificates) == 0 || len(cs.PeerCertificates[0].URIs) != 1 {
			return "", fmt.Errorf("%w: no verified client identity", ErrDenied)
		}
		leaf := cs.PeerCertificates[0]
		uri := leaf.URIs[0].String()
		res, err := agent.ConnectAuthorize(&api.AgentAuthorizeParams{Target: target, ClientCertURI: uri, ClientCertSerial: serialHex(leaf)})
		if err != nil {
			return uri, fmt.Errorf("ask consul intentions: %w", err)
		}
		if !res.Authorized {
			return uri, fmt.Errorf("%w: %s -> %s: %s", ErrDenied, ServiceOf(leaf.URIs[0]), target, res.Reason)
		}
		return uri, nil
	}
}
