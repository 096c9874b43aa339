package launcher

import (
	"errors"
	"flag"
	"io"
	"strings"
	"testing"
)

// TestClientRejectsMalformedAddress: an -address or NOMAD_ADDR that is no
// http(s) URL with a host is a usage error naming the value, before any
// request; well-formed ones give a client.
func TestClientRejectsMalformedAddress(t *testing.T) {
	client := func(args ...string) error {
		var n NomadFlags
		fs := flag.NewFlagSet("t", flag.ContinueOnError)
		fs.SetOutput(io.Discard)
		n.Register(fs)
		if err := fs.Parse(args); err != nil {
			t.Fatal(err)
		}
		_, err := n.Client(fs)
		return err
	}
	for _, c := range []struct{ addr, want string }{
		{"localhost:4646", `invalid Nomad agent address "localhost:4646" (-address or NOMAD_ADDR): want http://HOST:PORT or https://HOST:PORT, such as "http://localhost:4646"`},
		{"127.0.0.1:4646", `such as "http://127.0.0.1:4646"`},
		{"notaurl", `invalid Nomad agent address "notaurl"`},
		{"ftp://nomad:4646", `invalid Nomad agent address "ftp://nomad:4646"`},
		{"http://", `invalid Nomad agent address "http://"`},
		{"http://[::1", `invalid Nomad agent address "http://[::1"`},
	} {
		err := client("-address", c.addr)
		var ue *UsageError
		if !errors.As(err, &ue) || !strings.Contains(err.Error(), c.want) {
			t.Errorf("-address %s: %v; want a usage error containing %q", c.addr, err, c.want)
		}
	}
	t.Setenv("NOMAD_ADDR", "nomad.example:4646")
	if err := client(); err == nil || !strings.Contains(err.Error(), `"nomad.example:4646" (-address or NOMAD_ADDR)`) {
		t.Errorf("NOMAD_ADDR nomad.example:4646: %v", err)
	}
	for _, addr := range []string{"http://127.0.0.1:4646", "https://nomad.example:4646", "unix:///run/nomad.sock"} {
		if err := client("-address", addr); err != nil {
			t.Errorf("-address %s: %v", addr, err)
		}
	}
}

// TestNamespaceFromFlagOrEnv: -namespace wins over NOMAD_NAMESPACE, and
// neither gives "" (Nomad's default).
func TestNamespaceFromFlagOrEnv(t *testing.T) {
	ns := func(args ...string) string {
		var n NomadFlags
		fs := flag.NewFlagSet("t", flag.ContinueOnError)
		n.Register(fs)
		if err := fs.Parse(args); err != nil {
			t.Fatal(err)
		}
		return n.Namespace()
	}
	t.Setenv("NOMAD_NAMESPACE", "")
	if got := ns(); got != "" {
		t.Errorf("no flag, no env: %q", got)
	}
	t.Setenv("NOMAD_NAMESPACE", "ops")
	if got := ns(); got != "ops" {
		t.Errorf("NOMAD_NAMESPACE=ops: %q", got)
	}
	if got := ns("-namespace", "prod"); got != "prod" {
		t.Errorf("-namespace prod over NOMAD_NAMESPACE=ops: %q", got)
	}
}
