package runpage

import (
	"context"
	"strings"
	"testing"
	"time"
)

func TestLayout1000(t *testing.T) {
	p := synthPlan(1000, 50)
	start := time.Now()
	svg, err := layout(context.Background(), p)
	if err != nil {
		t.Fatal(err)
	}
	t.Logf("laid out %d shards in %s: %d bytes of SVG", len(p.Shards), time.Since(start), len(svg))
	if n := strings.Count(string(svg), `class="node"`); n != 1000 {
		t.Errorf("%d nodes in the SVG, want 1000", n)
	}
	for _, i := range []int{0, 1, 500, 999} {
		if !strings.Contains(string(svg), `<g id="`+NodeID(i)+`" class="node">`) {
			t.Errorf("no node with id %s: the page could not find shard %d", NodeID(i), i)
		}
	}
	// Every dependency is drawn, each shard titled by its node ID.
	if !strings.Contains(string(svg), `<title>n999</title>`) || strings.Count(string(svg), `<g id="e`) < 950 {
		t.Errorf("edges or titles missing")
	}
}
