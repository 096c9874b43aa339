package runpage

import (
	"context"
	"embed"
	"encoding/json"
	"fmt"
	"io/fs"
	"net/http"
	"sync"
	"time"

	"github.com/klauspost/compress/gzhttp"

	"github.com/shardwise/shardwise/planner/plan"
)

//go:embed assets
var assets embed.FS

// keepAlive is how often /events sends a comment, so that proxies and
// the browser keep an idle stream open.
const keepAlive = 15 * time.Second

// graphSVG is the plan's graph, laid out once in the background.
type graphSVG struct {
	done chan struct{}
	once sync.Once
	p    *plan.Plan
	svg  []byte
	err  error
}

func newGraphSVG(p *plan.Plan) *graphSVG { return &graphSVG{done: make(chan struct{}), p: p} }

// start lays the graph out in the background, once.
func (g *graphSVG) start() {
	g.once.Do(func() {
		go func() {
			defer close(g.done)
			g.svg, g.err = layout(context.Background(), g.p)
		}()
	})
}

// wait returns the laid out graph, waiting for it until ctx ends.
func (g *graphSVG) wait(ctx context.Context) ([]byte, error) {
	g.start()
	select {
	case <-g.done:
		return g.svg, g.err
	case <-ctx.Done():
		return nil, ctx.Err()
	}
}

// Handler serves the page, its assets, the graph, the run's JSON and its
// events (see the package doc). It starts laying the graph out.
func (pg *Page) Handler() http.Handler {
	pg.graph.start()
	static, err := fs.Sub(assets, "assets")
	if err != nil {
		panic(err) // the embedded folder is part of the build
	}
	gz := gzhttp.GzipHandler
	mux := http.NewServeMux()
	mux.Handle("GET /", gz(noCache(http.FileServerFS(static))))
	mux.Handle("GET /graph.svg", gz(http.HandlerFunc(pg.serveGraph)))
	mux.Handle("GET /api/run", gz(http.HandlerFunc(pg.serveRun)))
	mux.HandleFunc("GET /events", pg.serveEvents)
	return mux
}

// noCache makes the browser revalidate the embedded assets, so that a
// newer shardwise serving on the same address is seen at once.
func noCache(h http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Cache-Control", "no-cache")
		h.ServeHTTP(w, r)
	})
}

func (pg *Page) serveGraph(w http.ResponseWriter, r *http.Request) {
	svg, err := pg.graph.wait(r.Context())
	if err != nil {
		http.Error(w, fmt.Sprintf("lay out the graph: %v", err), http.StatusInternalServerError)
		return
	}
	w.Header().Set("Content-Type", "image/svg+xml")
	w.Header().Set("Cache-Control", "no-cache")
	_, _ = w.Write(svg)
}

func (pg *Page) serveRun(w http.ResponseWriter, _ *http.Request) {
	w.Header().Set("Content-Type", "application/json")
	w.Header().Set("Cache-Control", "no-store")
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	_ = enc.Encode(pg.Snapshot(time.Now()))
}

// serveEvents streams the run's events as server-sent events until the
// run ends, the browser goes, or it falls too far behind (it then
// reconnects, as EventSource does, and starts over from the whole run).
func (pg *Page) serveEvents(w http.ResponseWriter, r *http.Request) {
	fl, ok := w.(http.Flusher)
	if !ok {
		http.Error(w, "streaming unsupported", http.StatusInternalServerError)
		return
	}
	h := w.Header()
	h.Set("Content-Type", "text/event-stream")
	h.Set("Cache-Control", "no-store")
	h.Set("X-Accel-Buffering", "no")
	ch, cancel := pg.subscribe()
	defer cancel()
	tk := time.NewTicker(keepAlive)
	defer tk.Stop()
	fmt.Fprint(w, "retry: 2000\n\n")
	fl.Flush()
	for {
		select {
		case <-r.Context().Done():
			return
		case <-tk.C:
			fmt.Fprint(w, ": keep-alive\n\n")
			fl.Flush()
		case e, ok := <-ch:
			if !ok {
				return
			}
			fmt.Fprintf(w, "event: %s\ndata: %s\n\n", e.name, e.data)
			// Send what is queued in one write before flushing.
			for n := len(ch); n > 0; n-- {
				e, ok = <-ch
				if !ok {
					fl.Flush()
					return
				}
				fmt.Fprintf(w, "event: %s\ndata: %s\n\n", e.name, e.data)
			}
			fl.Flush()
		}
	}
}
