package launcher

import (
	"errors"
	"flag"
	"io"
	"strings"
	"testing"
	"time"
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

// TestAtIndexReadsTheEventsState: Nomad v1.6.1 publishes an event before
// it commits the change, so the allocation read after an allocation
// event (AllocationAt) must be a blocking query that Nomad answers only
// once its state is at the event's index: WaitIndex one below it (Nomad
// blocks while its index is at most WaitIndex), with a bounded wait. Seen
// under load: a read right after the event of an OOM-killed allocation
// returned it running, so that the launcher retried it with the same
// memory and the feedback service recorded it exit 0, not OOM-killed.
func TestAtIndexReadsTheEventsState(t *testing.T) {
	q := AtIndex("ns1", 42)
	if q.Namespace != "ns1" || q.WaitIndex != 41 || q.WaitTime <= 0 || q.WaitTime > time.Minute {
		t.Errorf("AtIndex(ns1, 42) = namespace %q, wait index %d, wait time %v; want ns1, 41, a bounded wait",
			q.Namespace, q.WaitIndex, q.WaitTime)
	}
	if q := AtIndex("", 0); q.WaitIndex != 0 || q.WaitTime != 0 {
		t.Errorf("AtIndex at index 0 blocks: wait index %d, wait time %v", q.WaitIndex, q.WaitTime)
	}
}
