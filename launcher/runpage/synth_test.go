package runpage

import (
	"fmt"
	"math/rand/v2"

	"github.com/shardwise/shardwise/planner/plan"
)

// classes are the default catalog's executor classes.
var classes = []string{"cpu-heavy", "memory-intensive", "io-bound", "gpu-accelerated", "low-latency"}

// synthPlan returns a plan of n shards in layers of width, each shard
// after one or two shards of the layer before, with predicted times
// that follow the layers, as a planner would give them. Seeded: the same
// n and width give the same plan.
func synthPlan(n, width int) *plan.Plan {
	rng := rand.New(rand.NewPCG(uint64(n), uint64(width)))
	p := &plan.Plan{Graph: "synthetic", Run: "r1000"}
	layerStart := 0.0
	for i := 0; i < n; i++ {
		layer := i / width
		if i%width == 0 && i > 0 {
			layerStart += 10
		}
		rt := 2 + rng.Float64()*8
		s := &plan.Shard{ID: fmt.Sprintf("s%04d-task", i), Job: fmt.Sprintf("synthetic-r1000-s%04d", i),
			Class: classes[rng.IntN(len(classes))], StartSeconds: layerStart, FinishSeconds: layerStart + rt,
			RuntimeSeconds: plan.Estimate{Value: rt}}
		if layer > 0 {
			prev := (layer - 1) * width
			s.Upstream = append(s.Upstream, p.Shards[prev+rng.IntN(width)].ID)
			if up := p.Shards[prev+rng.IntN(width)].ID; up != s.Upstream[0] {
				s.Upstream = append(s.Upstream, up)
			}
		}
		p.Shards = append(p.Shards, s)
	}
	p.MakespanSeconds = layerStart + 10
	for _, c := range classes {
		p.Classes = append(p.Classes, &plan.ClassUse{Class: c, Instances: 4})
	}
	return p
}
