package evaluate

import (
	"encoding/json"
	"fmt"
	"io"
	"strings"
	"text/tabwriter"

	"github.com/shardwise/shardwise/planner/simulate"
	"github.com/shardwise/shardwise/planner/units"
)

// JSONReport is the document WriteJSON writes (`shardwise simulate -format json`).
type JSONReport struct {
	Graph   string         `json:"graph"`
	Tasks   int            `json:"tasks"`
	Edges   int            `json:"edges"`
	Noise   float64        `json:"noise"`
	Seed    uint64         `json:"seed"`
	Bound   simulate.Bound `json:"lower_bound"`
	Methods []MethodJSON   `json:"methods"`
}

// MethodJSON is one method's outcome in a JSONReport.
type MethodJSON struct {
	Method          string                `json:"method"`
	Class           string                `json:"class,omitempty"`
	MakespanSeconds float64               `json:"makespan_seconds"`
	PlannedSeconds  float64               `json:"planned_makespan_seconds"`
	SLR             float64               `json:"slr"`
	Allocations     int                   `json:"allocations"`
	BytesMoved      int64                 `json:"bytes_moved"`
	PlanSeconds     float64               `json:"plan_seconds"`
	Classes         []simulate.ClassStats `json:"classes"`
}

// WriteJSON writes cmp as `shardwise simulate -format json` prints it: the
// graph, the lower bound and each method's outcome with its classes'
// utilisation.
func (cmp *Comparison) WriteJSON(w io.Writer) error {
	r := JSONReport{Graph: cmp.Input.Name, Tasks: len(cmp.Input.Graph.Tasks), Edges: len(cmp.Input.Graph.Edges), Bound: cmp.Bound,
		Noise: cmp.Sim.Noise, Seed: cmp.Sim.Seed}
	for _, o := range cmp.Outcomes {
		if o == nil {
			continue
		}
		r.Methods = append(r.Methods, MethodJSON{
			Method: string(o.Method), Class: o.Class, MakespanSeconds: o.MakespanSeconds, PlannedSeconds: o.PlannedSeconds,
			SLR: o.SLR, Allocations: o.Allocations, BytesMoved: o.BytesMoved, PlanSeconds: o.PlanTime.Seconds(),
			Classes: o.Sim.Classes,
		})
	}
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	return enc.Encode(r)
}

// WriteTable writes cmp for a person, as `shardwise simulate` prints it:
// each method's makespan, SLR, allocations, bytes moved and plan time
// against the lower bound, then each class's utilisation per method; sim
// is the simulator's noise and seed the comparison ran with.
func (cmp *Comparison) WriteTable(w io.Writer, sim simulate.Options) error {
	g, b := cmp.Input.Graph, cmp.Bound
	fmt.Fprintf(w, "Graph %q: %d tasks, %d edges", cmp.Input.Name, len(g.Tasks), len(g.Edges))
	if sim.Noise > 0 {
		fmt.Fprintf(w, "; runtime noise %g, seed %d", sim.Noise, sim.Seed)
	}
	fmt.Fprintf(w, "\nLower bound %s (critical path %s, work/capacity %s)\n\n",
		units.FormatSeconds(b.Seconds), units.FormatSeconds(b.CriticalPathSeconds), units.FormatSeconds(b.WorkSeconds))
	tw := tabwriter.NewWriter(w, 0, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "METHOD\tCLASS\tMAKESPAN\tSLR\tALLOCATIONS\tBYTES MOVED\tPLAN TIME")
	for i, o := range cmp.Outcomes {
		if o == nil {
			fmt.Fprintf(tw, "%s\t(no class runs every task)\t\t\t\t\t\n", Methods[i])
			continue
		}
		fmt.Fprintf(tw, "%s\t%s\t%s\t%.2f\t%d\t%s\t%s\n", o.Method, dashIfEmpty(o.Class), units.FormatSeconds(o.MakespanSeconds),
			o.SLR, o.Allocations, units.FormatBytes(o.BytesMoved), o.PlanTime.Round(10_000))
	}
	if err := tw.Flush(); err != nil {
		return err
	}
	for _, t := range g.Tasks {
		if t.Split != nil {
			fmt.Fprintln(w, "\nheft runs each task whole in one allocation (no splitting, as Topcuoglu et al. define it);\nsingle-class and shardwise cut data-parallel tasks into pieces.")
			break
		}
	}
	return writeUtilisation(w, cmp)
}

// writeUtilisation prints each class's simulated utilisation per method.
func writeUtilisation(w io.Writer, cmp *Comparison) error {
	fmt.Fprintln(w, "\nUtilisation (busy instance-seconds over instances x makespan)")
	tw := tabwriter.NewWriter(w, 0, 4, 2, ' ', 0)
	fmt.Fprint(tw, "CLASS")
	for _, m := range Methods {
		fmt.Fprintf(tw, "\t%s", strings.ToUpper(string(m)))
	}
	fmt.Fprintln(tw)
	for _, name := range usedClassNames(cmp) {
		fmt.Fprint(tw, name)
		for _, o := range cmp.Outcomes {
			fmt.Fprintf(tw, "\t%s", utilisationCell(o, name))
		}
		fmt.Fprintln(tw)
	}
	return tw.Flush()
}

// usedClassNames lists the classes some method used, in first-seen order.
func usedClassNames(cmp *Comparison) []string {
	var names []string
	seen := map[string]bool{}
	for _, o := range cmp.Outcomes {
		if o == nil {
			continue
		}
		for _, cs := range o.Sim.Classes {
			if !seen[cs.Class] {
				seen[cs.Class] = true
				names = append(names, cs.Class)
			}
		}
	}
	return names
}

func utilisationCell(o *Outcome, class string) string {
	if o == nil {
		return "-"
	}
	for _, cs := range o.Sim.Classes {
		if cs.Class == class {
			return fmt.Sprintf("%.0f%% (%s)", 100*cs.Utilisation, units.Count(cs.Shards, "shard"))
		}
	}
	return "-"
}

func dashIfEmpty(s string) string {
	if s == "" {
		return "-"
	}
	return s
}
