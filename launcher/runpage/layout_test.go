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
}
