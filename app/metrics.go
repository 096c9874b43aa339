package app

import (
	"context"
	"fmt"
	"io"
	"net"
	"net/http"
	"time"
)

// listen listens on addr (host:port) for what the flag serves, failing
// with an error that names flag and addr when it cannot (a port in use),
// before the command has registered anything in Nomad.
func listen(flag, addr, what string) (net.Listener, error) {
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		return nil, fmt.Errorf("%s %s: cannot serve %s: %w", flag, addr, what, err)
	}
	return ln, nil
}

// serve serves h on ln until the returned stop is called; stop waits up
// to grace for requests in flight (an event stream ends with the run)
// before closing the rest.
func serve(ln net.Listener, h http.Handler, grace time.Duration) (stop func()) {
	srv := &http.Server{Handler: h, ReadHeaderTimeout: 10 * time.Second}
	go srv.Serve(ln)
	return func() {
		ctx, cancel := context.WithTimeout(context.Background(), grace)
		defer cancel()
		if srv.Shutdown(ctx) != nil {
			srv.Close()
		}
	}
}

// serveMetrics serves h as /metrics on addr (host:port) until the
// returned stop is called, printing the URL to stdout. It fails, naming
// flag and addr, when addr cannot be listened on (a port in use).
func serveMetrics(flag, addr string, h http.Handler, stdout io.Writer) (stop func(), err error) {
	ln, err := listen(flag, addr, "metrics")
	if err != nil {
		return nil, err
	}
	return serveMetricsOn(ln, h, stdout), nil
}

// serveMetricsOn serves h as /metrics on ln, which listen opened, until
// the returned stop is called, printing the URL to stdout.
func serveMetricsOn(ln net.Listener, h http.Handler, stdout io.Writer) (stop func()) {
	mux := http.NewServeMux()
	mux.Handle("/metrics", h)
	fmt.Fprintf(stdout, "Metrics on http://%s/metrics\n", ln.Addr())
	return serve(ln, mux, 0)
}
