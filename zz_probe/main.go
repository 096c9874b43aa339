package main

import (
	"fmt"
	"os"

	"github.com/shardwise/shardwise/bench/replay"
	"github.com/shardwise/shardwise/planner/catalog"
	"github.com/shardwise/shardwise/planner/plan"
)

func main() {
	cat, d := catalog.Load("bench/replay/catalog.hcl")
	if d.HasErrors() {
		panic(d)
	}
	dir, _ := os.MkdirTemp("", "probe")
	tr, err := replay.Load("/work/shared/traces/wfcommons/"+os.Args[1]+".json", dir, 1, cat)
	if err != nil {
		panic(err)
	}
	p, sim, err := tr.Plan(cat, plan.Method{Name: plan.MethodShardwise}, "x")
	if err != nil {
		panic(err)
	}
	fmt.Println("shards", len(p.Shards), "sim", sim.MakespanSeconds)
	idx := map[string]int{}
	for i, t := range tr.Graph.Tasks {
		idx[t.Name] = i
	}
	ci := map[string]int{}
	for i, c := range cat.Classes {
		ci[c.Name] = i
	}
	for _, s := range p.Shards {
		if len(s.Tasks) < 2 && s.Split == nil {
			continue
		}
		sum, hint := 0.0, 0.0
		for _, t := range s.Tasks {
			sum += tr.Table.At(idx[t], ci[s.Class]).Runtime.Value
			hint += tr.Graph.Tasks[idx[t]].Hints.Runtime.Seconds()
		}
		fmt.Printf("%s %s n=%d split=%v rt=%.2f sumpred=%.2f sumhint=%.2f\n", s.ID, s.Class, len(s.Tasks), s.Split != nil, s.RuntimeSeconds.Value, sum, hint)
	}
}
