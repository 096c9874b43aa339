package hclreader

import (
	"path/filepath"
	"slices"
	"testing"
)

func varsPath(name string) string { return filepath.Join("testdata", "vars", name) }

// TestVariables checks how -var and -var-file values reach expressions:
// defaults, files in order, flags last, and how flag strings are read.
func TestVariables(t *testing.T) {
	cases := []struct {
		name  string
		vars  map[string]string
		files []string
		want  []string // the task's args: dataset, shards, sources, debug
	}{
		{"flags over defaults", map[string]string{"dataset": "in.csv"}, nil,
			[]string{"in.csv", "4", "a", "false"}},
		{"var file", nil, []string{"good.hcl"},
			[]string{"s3://bucket/input", "8", "a", "false"}},
		{"later file wins", nil, []string{"good.hcl", "override.json"},
			[]string{"s3://bucket/input", "12", "a", "false"}},
		{"flag over file", map[string]string{"shards": "20"}, []string{"good.hcl", "override.json"},
			[]string{"s3://bucket/input", "20", "a", "false"}},
		{"flag as HCL list and bool", map[string]string{"dataset": "x", "sources": `["b", "c"]`, "debug": "true"}, nil,
			[]string{"x", "4", "b,c", "true"}},
		{"string variable takes the raw flag", map[string]string{"dataset": `16`}, nil,
			[]string{"16", "4", "a", "false"}},
		{"string variable keeps quotes", map[string]string{"dataset": `"q"`}, nil,
			[]string{`"q"`, "4", "a", "false"}},
		{"number flag as an expression", map[string]string{"dataset": "x", "shards": "2 * 3"}, nil,
			[]string{"x", "6", "a", "false"}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			var files []string
			for _, f := range c.files {
				files = append(files, varsPath(f))
			}
			g, diags := ParseFile(varsPath("graph.hcl"), Options{Vars: c.vars, VarFiles: files})
			if diags.HasErrors() {
				t.Fatalf("unexpected diagnostics:\n%s", dump(diags))
			}
			if got := g.Tasks[0].Args; !slices.Equal(got, c.want) {
				t.Errorf("args = %q, want %q", got, c.want)
			}
		})
	}
}

// TestVariableErrors checks the diagnostics for bad -var and -var-file
// input, each at its exact position.
func TestVariableErrors(t *testing.T) {
	graphFile := varsPath("graph.hcl")
	cases := []struct {
		name  string
		vars  map[string]string
		files []string
		want  []wantDiag
	}{
		{"required variable without value", nil, nil, []wantDiag{
			{"6:1", "No value for required variable",
				`Variable "dataset" has no default, and no value was given. Set it with -var dataset=VALUE or in a -var-file, or give the variable a default.`},
		}},
		{"flag for undeclared variable", map[string]string{"dataset": "x", "shard": "3"}, nil, []wantDiag{
			{"<value for var.shard>:1:1", "Value for undeclared variable",
				`A value was given with -var shard=..., but the graph declares no variable "shard". Did you mean "shards"?`},
		}},
		{"flag of the wrong type", map[string]string{"dataset": "x", "shards": "many"}, nil, []wantDiag{
			{"<value for var.shards>:1:1", "Invalid value for variable",
				`Variable "shards" has type number, and -var shards=many is not valid for it: a number is required.`},
		}},
		{"var file syntax error", nil, []string{"bad_syntax.hcl"}, []wantDiag{
			{varsPath("bad_syntax.hcl") + ":1:10", "Invalid expression",
				`Expected the start of an expression, but found an invalid expression token.`},
			{"6:1", "No value for required variable",
				`Variable "dataset" has no default, and no value was given. Set it with -var dataset=VALUE or in a -var-file, or give the variable a default.`},
		}},
		{"var file value of the wrong type", nil, []string{"bad_type.hcl"}, []wantDiag{
			{varsPath("bad_type.hcl") + ":2:11", "Invalid value for variable",
				`Variable "shards" has type number, and the value in testdata/vars/bad_type.hcl is not valid for it: a number is required.`},
		}},
		{"var file sets an undeclared variable", nil, []string{"undeclared.hcl"}, []wantDiag{
			{varsPath("undeclared.hcl") + ":2:1", "Value for undeclared variable",
				`The var file testdata/vars/undeclared.hcl sets "shard", but the graph declares no variable of that name. Did you mean "shards"?`},
		}},
		{"missing var file", map[string]string{"dataset": "x"}, []string{"nope.hcl"}, []wantDiag{
			{"(none)", "Failed to read file",
				`The var file "testdata/vars/nope.hcl" could not be read: open testdata/vars/nope.hcl: no such file or directory.`},
		}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			var files []string
			for _, f := range c.files {
				files = append(files, varsPath(f))
			}
			g, diags := ParseFile(graphFile, Options{Vars: c.vars, VarFiles: files})
			if g != nil {
				t.Errorf("got a graph despite errors")
			}
			checkDiags(t, graphFile, diags, c.want)
		})
	}
}
