package plan
import ("testing";"time"
	"github.com/shardwise/shardwise/planner/catalog"
	"github.com/shardwise/shardwise/planner/evaluate/synth"
	"github.com/shardwise/shardwise/planner/predict")
func TestZZCount(t *testing.T) {
	g, _ := synth.Generate(synth.Params{Tasks: 10000, Alpha: 1, OutDegree: 3, CCR: 0.5, Beta: 1, Seed: 1})
	cat := catalog.Default()
	pred, _ := predict.New(cat, nil)
	t0 := time.Now()
	tb, _ := pred.Predict(g)
	t.Log("predict", time.Since(t0))
	t0 = time.Now()
	b, _ := placedBuilder(g, cat, tb, Options{Run: "bench"})
	t.Log("placed", time.Since(t0))
	t0 = time.Now()
	mixed := layout{class: b.taskSched.Class, fuse: true, batch: true, alternatives: true}
	b.fuse(mixed); b.cutShards(); b.placeShards(mixed)
	t.Log("fuse+place", time.Since(t0))
	t0 = time.Now()
	sets := b.batchSets(nil)
	t.Log("batchSets", time.Since(t0), len(sets), batchTrials(b.sprob.Nodes, len(b.sprob.EdgeFrom)))
	t0 = time.Now()
	b.batch(mixed)
	t.Log("batch", time.Since(t0))
	t0 = time.Now()
	bl, _ := b.baseline()
	t.Log("baseline", time.Since(t0), bl.MakespanSeconds, b.sched.Makespan)
	t0 = time.Now()
	b.assemble()
	t.Log("assemble", time.Since(t0))
}
