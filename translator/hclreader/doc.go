// Package hclreader reads a Shardwise task graph written in HCL (the language
// described in docs/graph-language.md) into a *graph.Graph.
//
// Reading happens in four steps, each collecting every diagnostic it can
// before the next runs:
//
//  1. The file is parsed with hclsyntax; a syntax error stops here.
//  2. Variables are declared (type constraint and default), then given
//     values from Options.VarFiles in order, then from Options.Vars, the
//     last value winning.
//  3. The graph block and its tasks are decoded. Every attribute except an
//     input's from and depends_on is an expression evaluated in a context
//     holding var and HCL's standard functions (see Functions); a null value
//     means the attribute was not given.
//  4. The static references in from and depends_on (task.NAME and
//     task.NAME.output.OUT) are resolved once all tasks are known, edges are
//     added, split declarations are checked against streaming edges, and
//     the graph is checked for cycles.
//
// Every task, output, input, artifact, hints and split keeps its block
// header's range as DefRange; an edge keeps the range of the reference that
// made it (the from value, or the depends_on entry).
//
// Errors are hcl.Diagnostics whose Subject is the range of the offending
// value, block or reference, so that a caller can print file:line:col and
// a source snippet. Parse never returns a graph together with an error
// diagnostic; it may return one together with warnings.
package hclreader
