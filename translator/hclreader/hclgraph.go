package hclreader

import (
	"bytes"
	"fmt"
	"os"

	"github.com/hashicorp/hcl/v2"
	"github.com/zclconf/go-cty/cty"

	"github.com/shardwise/shardwise/planner/graph"
	"github.com/shardwise/shardwise/planner/textfile"
)

// Options steer how a graph file is read.
type Options struct {
	// Vars are the values of -var NAME=VALUE flags, keyed by NAME. A value
	// is read as an HCL literal expression (16, true, ["a", "b"]) when it is
	// one and the variable's type is not string; otherwise it is the raw
	// string, as in Terraform. Vars override VarFiles, which override
	// defaults. A name the graph does not declare is an error.
	Vars map[string]string
	// VarFiles are -var-file paths, applied in order: HCL files of NAME =
	// VALUE lines (or JSON objects, for names ending in .json) holding
	// literal values. A name the graph does not declare is an error.
	VarFiles []string
	// Executors are the executor class names hints.executor may name. Nil
	// skips the check (an empty, non-nil slice rejects every pin).
	Executors []string
}

// ParseFile reads the graph file at path; see Parse. A file that cannot be
// read is a single error diagnostic with no subject.
func ParseFile(path string, opts Options) (*graph.Graph, hcl.Diagnostics) {
	src, err := os.ReadFile(path)
	if err != nil {
		return nil, hcl.Diagnostics{{
			Severity: hcl.DiagError,
			Summary:  "Failed to read file",
			Detail:   fmt.Sprintf("The graph file %q could not be read: %s.", path, err),
		}}
	}
	return Parse(path, src, opts)
}

// Parse reads one graph from src, an HCL file in the language of
// docs/graph-language.md; filename is used in diagnostics' ranges only.
//
// It returns the graph and any warnings, or nil and every error it found: a
// syntax error stops reading at once, while errors in variables, values,
// references, splits and cycles are collected in one pass. Each error's
// Subject is the range of the offending value, block or reference (for
// -var flags, a range in a pseudo-file named "<value for var.NAME>").
func Parse(filename string, src []byte, opts Options) (*graph.Graph, hcl.Diagnostics) {
	if d := textfile.Check(filename, "graph file", src); d != nil {
		return nil, hcl.Diagnostics{d}
	}
	if g, diags, ok := decodeStreaming(filename, src, opts); ok {
		return g, diags
	}
	file, diags := parseConfig(filename, src)
	if diags.HasErrors() {
		return nil, explainJSON(src, diags)
	}
	r := &reader{opts: opts, diags: diags}
	g := r.decodeFile(file)
	if r.diags.HasErrors() {
		return nil, r.diags
	}
	return g, r.diags
}

// explainJSON adds to the first of diags, syntax errors of src, that src
// looks like JSON when it starts with "{" or "[", which no HCL graph does:
// most often a WfCommons trace given to plan.
func explainJSON(src []byte, diags hcl.Diagnostics) hcl.Diagnostics {
	if t := bytes.TrimLeft(src, " \t\r\n\ufeff"); len(diags) == 0 || len(t) == 0 || (t[0] != '{' && t[0] != '[') {
		return diags
	}
	d := *diags[0]
	d.Detail += " The file looks like JSON, but a graph file is HCL (docs/graph-language.md): for a WfCommons trace, run " +
		"'shardwise import wfcommons -out DIR TRACE.json' and plan DIR/graph.hcl, or give the trace to 'shardwise simulate'."
	return append(hcl.Diagnostics{&d}, diags[1:]...)
}

// decodeFile reads the variables and the graph block of file.
func (r *reader) decodeFile(file *hcl.File) *graph.Graph {
	b := r.decodeRoot(file)
	if b == nil {
		return nil
	}
	return r.decodeGraph(b)
}

// decodeRoot reads the variables of file (declarations, var files, -var
// flags) into r's evaluation context, and returns its graph block, or nil
// (reported) if it has none.
func (r *reader) decodeRoot(file *hcl.File) *hcl.Block {
	content, diags := file.Body.Content(rootSchema)
	r.diags = append(r.diags, diags...)
	r.declareVariables(content.Blocks.OfType("variable"))
	for _, path := range r.opts.VarFiles {
		r.assignVarFile(path)
	}
	r.assignVarFlags(r.opts.Vars)
	r.ctx = &hcl.EvalContext{
		Variables: map[string]cty.Value{"var": r.varsObject()},
		Functions: Functions(),
	}
	return r.graphBlock(file.Body, content.Blocks.OfType("graph"))
}

// graphBlock returns the file's one graph block, reporting a missing one or
// any beyond the first.
func (r *reader) graphBlock(body hcl.Body, blocks hcl.Blocks) *hcl.Block {
	if len(blocks) == 0 {
		r.errorAt(body.MissingItemRange(), "Missing graph block",
			`The file declares no graph block. A graph file holds exactly one graph "NAME" { ... } block with at least one task.`)
		return nil
	}
	for _, b := range blocks[1:] {
		r.errorAt(b.DefRange, "Duplicate graph block",
			"A graph block was already declared on line %d. A graph file holds exactly one graph block.", blocks[0].DefRange.Start.Line)
	}
	return blocks[0]
}

// decodeGraph reads the graph block b: its arguments, its tasks, then the
// references between tasks, the split rules and the cycle check.
func (r *reader) decodeGraph(b *hcl.Block) *graph.Graph {
	content := r.content(b.Body, graphSchema)
	return r.buildGraph(b, content, r.decodeTaskBlocks(content.ofType("task")))
}

// buildGraph makes the graph of block b from its arguments (content) and
// its tasks, decoded (decodeTaskBlocks, or decodeStreaming's pieces).
func (r *reader) buildGraph(b *hcl.Block, content content, tasks []decodedTask) *graph.Graph {
	g := graph.New(b.Labels[0])
	g.DefRange = b.DefRange
	g.Datacenters = []string{"dc1"}
	a := r.attrs(content, where{format: "graph %q", a: g.Name})
	a.strings("datacenters", &g.Datacenters)
	a.str("region", &g.Region)
	a.str("namespace", &g.Namespace)
	a.integer("priority", 1, 100, &g.Priority)
	a.oneOf("driver", "Invalid driver", drivers, &g.Driver)

	if len(tasks) == 0 {
		r.errorAt(b.DefRange, "Empty graph",
			`Graph %q declares no tasks. A graph needs at least one task "NAME" { command = ... } block.`, g.Name)
		return g
	}
	decls := r.addTasks(g, tasks)
	r.resolve(g, decls)
	for _, d := range decls {
		r.checkStreamingSplit(g, d)
	}
	r.checkCycles(g)
	return g
}
