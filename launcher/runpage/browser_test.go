package runpage

import (
	"net/http/httptest"
	"testing"
	"time"

	"github.com/chromedp/chromedp"

	"github.com/shardwise/shardwise/internal/browsertest"
	"github.com/shardwise/shardwise/launcher"
)

// TestPage1000InBrowser renders the page of a 1,000-shard run in headless
// Chromium, drives every shard through submitted, running and complete
// as a launcher would report them, and checks what the page shows: the
// shard count, every graph node and timeline bar, the counts, zooming
// the graph with the wheel and the buttons, and no console error.
func TestPage1000InBrowser(t *testing.T) {
	if testing.Short() {
		t.Skip("starts Chromium")
	}
	p := synthPlan(1000, 50)
	pg := New(p, "http://127.0.0.1:4646")
	srv := httptest.NewServer(pg.Handler())
	t.Cleanup(srv.Close) // after the browser's cleanup, which ends its event stream
	b := browsertest.New(t, 1400, 1000)
	start := time.Now()
	pg.Start(launcher.Snapshot{Start: start})

	ctx := b.Ctx
	poll := func(what, expr string, timeout time.Duration) {
		t.Helper()
		if _, err := chromedp.Run(ctx, chromedp.Poll[bool](expr, chromedp.WithPollingInterval(100*time.Millisecond), chromedp.WithPollingTimeout(timeout))); err != nil {
			status, _ := chromedp.Run(ctx, chromedp.Evaluate[string](`document.body.dataset.state + "; graph: " + document.getElementById("graph-status").textContent`))
			t.Fatalf("%s: %v (page: %s; errors: %v)", what, err, status, b.Errors())
		}
	}
	eval := func(expr string) string {
		t.Helper()
		v, err := chromedp.Run(ctx, chromedp.Evaluate[string](expr))
		if err != nil {
			t.Fatalf("%s: %v", expr, err)
		}
		return v
	}
	if err := chromedp.Do(ctx, chromedp.Navigate(srv.URL)); err != nil {
		t.Fatal(err)
	}
	poll("graph rendered", `document.getElementById("graph").dataset.nodes === "1000"`, time.Minute)
	t.Logf("page with 1,000 shards rendered (graph laid out and drawn) %s after the server started", time.Since(start).Round(time.Millisecond))
	if got := eval(`document.getElementById("shard-count").textContent`); got != "1000" {
		t.Errorf("shard count shown %q, want 1000", got)
	}

	// Zoom: the wheel over the graph and the buttons change its viewBox.
	vb := eval(`document.querySelector("#graph svg").getAttribute("viewBox")`)
	eval(`(() => { const g = document.getElementById("graph"), r = g.getBoundingClientRect();
		g.dispatchEvent(new WheelEvent("wheel", {deltaY: -100, clientX: r.left + r.width/2, clientY: r.top + r.height/2, bubbles: true, cancelable: true})); return ""; })()`)
	vb2 := eval(`document.querySelector("#graph svg").getAttribute("viewBox")`)
	eval(`document.getElementById("zoom-fit").click(), ""`)
	vb3 := eval(`document.querySelector("#graph svg").getAttribute("viewBox")`)
	if vb == vb2 || vb2 == vb3 {
		t.Errorf("zooming did not change the graph's viewBox: %q, after the wheel %q, after fit %q", vb, vb2, vb3)
	}

	// The launcher's changes, in waves of 50 as the layers become ready.
	feed := time.Now()
	for w := 0; w < len(p.Shards); w += 50 {
		for _, to := range []launcher.State{launcher.Submitted, launcher.Running, launcher.Complete} {
			for i := w; i < w+50 && i < len(p.Shards); i++ {
				s := p.Shards[i]
				c := launcher.Change{Shard: s.ID, Job: s.Job, Class: s.Class, To: to, Attempt: 1, Time: time.Now(), Node: "client-" + s.Class}
				if to != launcher.Submitted {
					c.Alloc = "alloc-" + s.ID
					c.Started = start.Add(time.Duration(s.StartSeconds * float64(time.Second)))
				}
				if to == launcher.Complete {
					c.Finished = c.Started.Add(time.Duration(s.RuntimeSeconds.Value * 1.1 * float64(time.Second)))
				}
				pg.Change(c, launcher.Snapshot{})
			}
		}
	}
	pg.Finish(launcher.Snapshot{})
	poll("run shown ended", `document.body.dataset.state === "ended"`, time.Minute)
	t.Logf("3,000 changes fed and shown in %s", time.Since(feed).Round(time.Millisecond))
	for what, expr := range map[string]string{
		"complete count":        `document.getElementById("count-complete").textContent === "1000"`,
		"graph nodes complete":  `document.querySelectorAll("#graph g.node.st-complete").length === 1000`,
		"timeline bars drawn":   `[...document.querySelectorAll("#gantt rect.act")].filter(r => +r.getAttribute("width") > 0).length === 1000`,
		"allocation links":      `document.querySelectorAll("#shards a[href^='http://127.0.0.1:4646/ui/allocations/']").length === 1000`,
		"class utilisation row": `document.querySelectorAll("#classes tbody tr").length === 5`,
	} {
		poll(what, expr, 10*time.Second)
	}
	b.Screenshot(t, "runpage-1000-shards.png")
	if errs := b.Errors(); len(errs) > 0 {
		t.Errorf("the page reported errors:\n%v", errs)
	}
}
