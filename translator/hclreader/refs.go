package hclreader

import (
	"errors"
	"fmt"
	"strings"

	"github.com/agext/levenshtein"
	"github.com/hashicorp/hcl/v2"
	"github.com/hashicorp/hcl/v2/hclsyntax"
	"golang.org/x/text/unicode/norm"

	"github.com/shardwise/shardwise/planner/graph"
)

// ref is a static reference to a task (task.NAME) or to one of its outputs
// (task.NAME.output.OUT).
type ref struct {
	task, output string
	rng          hcl.Range
}

// Reference forms, for messages.
const (
	taskRefForm   = "task.NAME, such as task.prepare"
	outputRefForm = "task.NAME.output.OUTPUT, such as task.prepare.output.features"
)

// parseRef reads expr as a static reference: task.NAME, or
// task.NAME.output.OUT when wantOutput. where names the argument in
// messages.
func (r *reader) parseRef(expr hcl.Expression, wantOutput bool, where where) (ref, bool) {
	form, steps := taskRefForm, 1
	if wantOutput {
		form, steps = outputRefForm, 3
	}
	tr, diags := hcl.AbsTraversalForExpr(expr)
	names, ok := attrNames(tr)
	if diags.HasErrors() || tr.RootName() != "task" || !ok || len(names) != steps || (wantOutput && names[1] != "output") {
		r.errorAt(expr.Range(), "Invalid reference", "%s must be a reference of the form %s.", where, form)
		return ref{}, false
	}
	// Names are compared in NFC, as declarations are kept (decodeTasks).
	rf := ref{task: norm.NFC.String(names[0]), rng: tr.SourceRange()}
	if wantOutput {
		rf.output = norm.NFC.String(names[2])
	}
	return rf, true
}

// attrNames returns the names of the attribute steps after tr's root, and
// false if any step is not an attribute access.
func attrNames(tr hcl.Traversal) ([]string, bool) {
	var names []string
	for _, step := range tr[min(1, len(tr)):] {
		a, ok := step.(hcl.TraverseAttr)
		if !ok {
			return nil, false
		}
		names = append(names, a.Name)
	}
	return names, true
}

// checkRefs reports the references in expr that can never evaluate: to an
// undeclared variable, or to a task (tasks may be named only in from and
// depends_on). It returns false if it reported any.
func (r *reader) checkRefs(expr hcl.Expression) bool {
	if isLiteral(expr) {
		return true // most values: no traversal to walk
	}
	ok := true
	for _, tr := range expr.Variables() {
		switch tr.RootName() {
		case "var":
			names, _ := attrNames(tr)
			if len(names) == 0 || r.vars[names[0]] != nil {
				continue
			}
			r.errorAt(hcl.RangeBetween(tr[0].SourceRange(), tr[1].SourceRange()), "Reference to undeclared variable",
				"There is no variable named %q.%s Declare it with a variable %q { ... } block.",
				names[0], suggest(names[0], r.varNames()), names[0])
			ok = false
		case "task":
			r.errorAt(tr.SourceRange(), "Invalid reference",
				"Tasks can be referenced only in an input's from and in depends_on; here only variables (var.NAME) and functions are allowed.")
			ok = false
		}
	}
	return ok
}

// resolve turns the references in every task's inputs and depends_on into
// edges of g, reporting unknown tasks and outputs.
func (r *reader) resolve(g *graph.Graph, decls []*taskDecl) {
	byName := make(map[string]*taskDecl, len(decls))
	names := make([]string, len(decls))
	for i, d := range decls {
		byName[d.task.Name] = d
		names[i] = d.task.Name
	}
	for _, d := range decls {
		seen := inputsSeen{inputs: d.inputs}
		for i, in := range d.inputs {
			if !in.ok {
				continue
			}
			if r.duplicateInput(&seen, i, d, in.ref) {
				continue
			}
			if up := r.lookupTask(byName, names, in.ref); up != nil {
				r.addInputEdge(g, d, up, in.ref)
			}
		}
		for j, dep := range d.deps {
			if r.duplicateDep(d, j) {
				continue
			}
			if r.lookupTask(byName, names, dep) != nil {
				r.addEdge(g, &graph.Edge{From: dep.task, To: d.task.Name, DefRange: dep.rng})
			}
		}
	}
}

// duplicateDep warns about depends_on entry j of d, to be skipped, when an
// earlier entry names the same task: each would be an ordering edge, and a
// channel, of its own. depends_on lists are short, so they are looked
// through in place.
func (r *reader) duplicateDep(d *taskDecl, j int) bool {
	for _, prev := range d.deps[:j] {
		if prev.task == d.deps[j].task {
			rng := d.deps[j].rng
			r.diags = append(r.diags, &hcl.Diagnostic{
				Severity: hcl.DiagWarning,
				Summary:  "Duplicate dependency",
				Detail: fmt.Sprintf("Task %q already depends on task %q on line %d; the second entry is ignored.",
					d.task.Name, prev.task, prev.rng.Start.Line),
				Subject: &rng,
			})
			return true
		}
	}
	return false
}

// inputsSeen finds the first of a task's inputs that reads a given output.
// Most tasks have a few inputs, looked through in place; a task with many
// gets a map, built as its inputs are checked.
type inputsSeen struct {
	inputs []inputDecl
	m      map[ref]hcl.Range
}

// inputsScanned is the most inputs looked through in place.
const inputsScanned = 16

// duplicateInput reports input i of d, reading rf, when an earlier input of
// d reads the same output (the channel would move the bytes twice).
func (r *reader) duplicateInput(seen *inputsSeen, i int, d *taskDecl, rf ref) bool {
	key := ref{task: rf.task, output: rf.output}
	prev, dup := seen.first(i, key)
	if dup {
		r.errorAt(rf.rng, "Duplicate input",
			"Task %q already reads output %q of task %q through an input on line %d. Read it once: the one input file can be used in several places.",
			d.task.Name, rf.output, rf.task, prev.Start.Line)
	}
	return dup
}

// first returns the range of the first valid input before input i that
// reads key's output, recording input i as read when there is none.
func (s *inputsSeen) first(i int, key ref) (hcl.Range, bool) {
	if len(s.inputs) <= inputsScanned {
		for _, in := range s.inputs[:i] {
			if in.ok && in.ref.task == key.task && in.ref.output == key.output {
				return in.ref.rng, true
			}
		}
		return hcl.Range{}, false
	}
	if prev, dup := s.m[key]; dup {
		return prev, true
	}
	if s.m == nil {
		s.m = map[ref]hcl.Range{}
	}
	s.m[key] = s.inputs[i].ref.rng
	return hcl.Range{}, false
}

// lookupTask returns the declaration of rf's task, or reports it unknown.
func (r *reader) lookupTask(byName map[string]*taskDecl, names []string, rf ref) *taskDecl {
	if d, ok := byName[rf.task]; ok {
		return d
	}
	r.errorAt(rf.rng, "Reference to undeclared task",
		"There is no task named %q in this graph.%s", rf.task, suggest(rf.task, names))
	return nil
}

// addInputEdge adds the data edge from up's output rf.output into d.
func (r *reader) addInputEdge(g *graph.Graph, d, up *taskDecl, rf ref) {
	for i, o := range up.task.Outputs {
		if o.Name != rf.output {
			continue
		}
		bytes := int64(-1)
		if up.sized[i] {
			bytes = o.Bytes
		}
		r.addEdge(g, &graph.Edge{From: up.task.Name, To: d.task.Name, Output: o.Name, Bytes: bytes, Stream: o.Stream, DefRange: rf.rng})
		return
	}
	outs := make([]string, len(up.task.Outputs))
	for i, o := range up.task.Outputs {
		outs[i] = o.Name
	}
	declared := "It declares no outputs."
	if len(outs) > 0 {
		declared = "Its outputs are " + quoteList(outs, "and") + "."
	}
	r.errorAt(rf.rng, "Reference to undeclared output",
		"Task %q has no output named %q.%s %s", up.task.Name, rf.output, suggest(rf.output, outs), declared)
}

// addEdge adds e to g; an edge from a task to itself is a cycle.
func (r *reader) addEdge(g *graph.Graph, e *graph.Edge) {
	if e.From == e.To {
		r.errorAt(e.DefRange, "Dependency cycle",
			"Task %q depends on itself: %s -> %s. A graph must be acyclic.", e.From, e.From, e.To)
		return
	}
	if err := g.AddEdge(e); err != nil {
		r.errorAt(e.DefRange, "Invalid reference", "%s.", err)
	}
}

// checkCycles reports one dependency cycle of g, if it has any, at the
// declaration of its first task.
func (r *reader) checkCycles(g *graph.Graph) {
	_, err := g.TopoOrder()
	var ce *graph.CycleError
	if !errors.As(err, &ce) {
		return
	}
	tasks, first := rotateCycle(g, ce)
	r.errorAt(first, "Dependency cycle",
		"Tasks %s depend on each other: %s. A graph must be acyclic; remove one of the inputs or depends_on references on this cycle.",
		quoteList(tasks[:len(tasks)-1], "and"), strings.Join(tasks, " -> "))
}

// rotateCycle returns ce's tasks starting (and ending) with the one declared
// first in the file, and that task's declaration range.
func rotateCycle(g *graph.Graph, ce *graph.CycleError) ([]string, hcl.Range) {
	ring := ce.Tasks[:len(ce.Tasks)-1]
	start := 0
	for i, name := range ring {
		if g.Index(name) < g.Index(ring[start]) {
			start = i
		}
	}
	tasks := append(append([]string{}, ring[start:]...), ring[:start]...)
	tasks = append(tasks, tasks[0])
	return tasks, ce.Ranges[start]
}

// validName reports whether name can be referenced as ref (an HCL
// identifier), reporting it at rng if not.
func (r *reader) validName(kind, name, ref string, rng hcl.Range) bool {
	if asciiIdentifier(name) || hclsyntax.ValidIdentifier(name) {
		return true
	}
	r.errorAt(rng, "Invalid name",
		"%s name %q is not valid: a name starts with a letter or underscore and holds only letters, digits, underscores and dashes, so that it can be referenced as %s.",
		kind, name, ref)
	return false
}

// asciiIdentifier reports whether name is an identifier of ASCII letters,
// digits, underscores and dashes that starts with a letter or underscore:
// what hclsyntax.ValidIdentifier accepts, decided without its lexer (which
// allocates its tokens) for the names most files use.
func asciiIdentifier(name string) bool {
	if name == "" || !(isLetter(name[0]) || name[0] == '_') {
		return false
	}
	for i := 1; i < len(name); i++ {
		if !isNameByte(name[i]) {
			return false
		}
	}
	return true
}

// suggest returns ` Did you mean "x"?` for the candidate closest to name
// by Levenshtein distance, if one is within 2 edits, else "".
func suggest(name string, candidates []string) string {
	best, bestDist := "", 3
	for _, c := range candidates {
		if d := levenshtein.Distance(name, c, nil); d < bestDist {
			best, bestDist = c, d
		}
	}
	if best == "" {
		return ""
	}
	return fmt.Sprintf(" Did you mean %q?", best)
}

// isLiteral reports whether expr is a literal value or a quoted string of
// literal text, which refers to nothing.
func isLiteral(expr hcl.Expression) bool {
	switch e := expr.(type) {
	case *hclsyntax.LiteralValueExpr:
		return true
	case *hclsyntax.TemplateExpr:
		for _, p := range e.Parts {
			if _, ok := p.(*hclsyntax.LiteralValueExpr); !ok {
				return false
			}
		}
		return true
	}
	return false
}
