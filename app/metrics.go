package app

import (
	"fmt"
	"io"
	"net"
	"net/http"
	"time"
)

// serveMetrics serves h as /metrics on addr (host:port) until the
// returned stop is called, printing the URL to stdout. It fails, naming
// flag and addr, when addr cannot be listened on (a port in use).
func serveMetrics(flag, addr string, h http.Handler, stdout io.Writer) (stop func(), err error) {
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		return nil, fmt.Errorf("%s %s: cannot serve metrics: %w", flag, addr, err)
	}
	mux := http.NewServeMux()
	mux.Handle("/metrics", h)
	srv := &http.Server{Handler: mux, ReadHeaderTimeout: 10 * time.Second}
	go srv.Serve(ln)
	fmt.Fprintf(stdout, "Metrics on http://%s/metrics\n", ln.Addr())
	return func() { srv.Close() }, nil
}
