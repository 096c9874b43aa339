// Package bench evaluates the planner on inputs that come from outside it:
// WfCommons traces imported by translator/wfcommons. It sits above both the
// translator and the planner, so that planner/evaluate needs no importer;
// `shardwise simulate` uses it, and `make bench-plan` (cmd/benchplan)
// writes the report of Evaluation (or WriteAccuracyOnly, WriteProbeCosts).
package bench

import (
	"fmt"

	"github.com/shardwise/shardwise/planner/catalog"
	"github.com/shardwise/shardwise/planner/evaluate"
	"github.com/shardwise/shardwise/planner/history"
	"github.com/shardwise/shardwise/translator/wfcommons"
)

// FromTrace imports the WfCommons trace at path and returns it as an
// evaluate.Input for cat, with the table of evaluate.TraceTable fitted on
// the trace's records and extra ones (other history).
func FromTrace(path string, cat *catalog.Catalog, extra ...history.Record) (*evaluate.Input, error) {
	res, err := wfcommons.Import(path)
	if err != nil {
		return nil, err
	}
	tb, err := evaluate.TraceTable(res.Graph, append(res.Records, extra...), cat)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	return &evaluate.Input{Name: res.Graph.Name, Family: res.Family, Schema: res.Schema, Graph: res.Graph, Table: tb, Records: res.Records}, nil
}
