package app

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"time"

	"github.com/hashicorp/go-hclog"
	"github.com/hashicorp/nomad/api"

	"github.com/shardwise/shardwise/launcher"
	"github.com/shardwise/shardwise/launcher/runpage"
	"github.com/shardwise/shardwise/launcher/runstate"
	"github.com/shardwise/shardwise/planner/plan"
)

// DefaultUIAddr is where `shardwise ui` serves the run page unless told.
const DefaultUIAddr = "127.0.0.1:4680"

// pageGrace is how long a stopping page server waits for browsers to
// read the run's last events.
const pageGrace = 2 * time.Second

// UIRequest is a run stored in Nomad to show on the live run page.
type UIRequest struct {
	Run string
	// Namespace is where the run is stored (-namespace, else
	// NOMAD_NAMESPACE); "" is the client's.
	Namespace string
	// Addr is the host:port to serve the page on.
	Addr string
}

// livePage is the run page of a command: its listener, bound before
// anything is registered in Nomad, then its page once the plan is known.
type livePage struct {
	flag string
	ln   net.Listener
	page *runpage.Page
	stop func()
}

// listenPage binds addr for the run page (nil, nil when addr is empty);
// a port in use fails naming flag and addr.
func listenPage(flag, addr string) (*livePage, error) {
	if addr == "" {
		return nil, nil
	}
	ln, err := listen(flag, addr, "the run page")
	if err != nil {
		return nil, err
	}
	return &livePage{flag: flag, ln: ln}, nil
}

// start serves the page of plan p, whose allocations link to Nomad's UI
// at nomadAddr, and prints its URL.
func (lp *livePage) start(p *plan.Plan, nomadAddr string, stdout io.Writer) launcher.Progress {
	if lp == nil {
		return nil
	}
	lp.page = runpage.New(p, nomadAddr)
	lp.stop = serve(lp.ln, lp.page.Handler(), pageGrace)
	fmt.Fprintf(stdout, "Run page on http://%s/\n", lp.ln.Addr())
	return lp.page
}

// close stops serving the page (or frees the port of a page that never
// started).
func (lp *livePage) close() {
	switch {
	case lp == nil:
	case lp.stop != nil:
		lp.stop()
	default:
		lp.ln.Close()
	}
}

// UI serves the live run page of req.Run, a run stored in Nomad, on
// req.Addr: it follows the run from its stored state, its jobs and
// allocations and Nomad's event stream (launcher.Watch) without driving
// it, and goes on serving the page after the run has ended, until ctx
// ends. A port in use fails before Nomad is asked anything.
func UI(ctx context.Context, req UIRequest, client *api.Client, stdout io.Writer, log hclog.Logger) error {
	lp, err := listenPage("-addr", req.Addr)
	if err != nil {
		return err
	}
	defer lp.close()
	if _, err := launcher.CurrentIndex(ctx, client, "", launcher.DefaultConnectTimeout); err != nil {
		return err
	}
	p, _, err := launcher.WatchPlan(ctx, client, req.Run, req.Namespace)
	if errors.Is(err, runstate.ErrNotFound) {
		return fmt.Errorf("%w; the page follows runs stored in Nomad: 'shardwise list' shows them", err)
	}
	if err != nil {
		return err
	}
	progress := lp.start(p, client.Address(), stdout)
	fmt.Fprintf(stdout, "Following run %s (graph %q, %d shards) on Nomad at %s\n", p.Run, p.Graph, len(p.Shards), client.Address())
	l := &launcher.Launcher{Client: client, Namespace: req.Namespace}
	rep, err := l.Watch(ctx, req.Run, launcher.Options{Progress: progress, Logger: log.Named("launcher")})
	if errors.Is(err, launcher.ErrStopped) {
		return nil
	}
	if err != nil {
		return err
	}
	fmt.Fprintf(stdout, "Run %s has ended: %s; serving the page until interrupted (Ctrl-C)\n", req.Run, outcome(rep))
	<-ctx.Done()
	return nil
}

// outcome counts the report's shards by state, in words.
func outcome(rep *launcher.Report) string {
	counts := map[launcher.State]int{}
	for _, s := range rep.Shards {
		counts[s.State]++
	}
	out := ""
	for st := launcher.Pending; st <= launcher.Skipped; st++ {
		if counts[st] > 0 {
			if out != "" {
				out += ", "
			}
			out += fmt.Sprintf("%d %s", counts[st], st)
		}
	}
	return out
}
