package hclreader

import (
	"fmt"
	"os"
	"slices"
	"strings"
	"unicode/utf8"

	"github.com/hashicorp/hcl/v2"
	"github.com/hashicorp/hcl/v2/ext/typeexpr"
	"github.com/hashicorp/hcl/v2/hclparse"
	"github.com/hashicorp/hcl/v2/hclsyntax"
	"github.com/shardwise/shardwise/planner/textfile"
	"github.com/zclconf/go-cty/cty"
	"github.com/zclconf/go-cty/cty/convert"
)

// variable is one declared variable and the value it has so far.
type variable struct {
	name     string
	ty       cty.Type // cty.DynamicPseudoType when no type is given
	val      cty.Value
	set      bool // val holds a default or a given value
	failed   bool // a declaration or value of it was invalid (and reported)
	order    int
	defRange hcl.Range
}

// declareVariables reads the variable blocks: names, type constraints and
// defaults.
func (r *reader) declareVariables(blocks hcl.Blocks) {
	r.vars = map[string]*variable{}
	for _, b := range blocks {
		name := b.Labels[0]
		if prev, dup := r.vars[name]; dup {
			r.errorAt(b.DefRange, "Duplicate variable",
				"A variable named %q was already declared on line %d. Variable names must be unique.", name, prev.defRange.Start.Line)
			continue
		}
		if !r.validName("Variable", name, "var."+name, b.LabelRanges[0]) {
			continue
		}
		v := &variable{name: name, ty: cty.DynamicPseudoType, order: len(r.vars), defRange: b.DefRange}
		r.vars[name] = v
		r.declareVariable(v, b.Body)
	}
}

// declareVariable reads one variable block's body into v.
func (r *reader) declareVariable(v *variable, body hcl.Body) {
	content, diags := body.Content(variableSchema)
	r.diags = append(r.diags, diags...)
	if attr, ok := content.Attributes["type"]; ok {
		ty, diags := typeexpr.TypeConstraint(attr.Expr)
		r.diags = append(r.diags, diags...)
		if diags.HasErrors() {
			v.failed = true
			return
		}
		v.ty = ty
	}
	if attr, ok := content.Attributes["description"]; ok {
		if val, ok := r.literal(attr); ok && !val.IsNull() && val.Type() != cty.String {
			r.errorAt(attr.Expr.Range(), "Incorrect value type",
				"Argument \"description\" of variable %q must be a string, not %s.", v.name, typeName(val.Type()))
		}
	}
	if attr, ok := content.Attributes["default"]; ok {
		val, ok := r.literal(attr)
		switch {
		case !ok:
			v.failed = true // reported; not also "has no default"
		case !val.IsNull():
			r.assign(v, val, attr.Expr.Range(), "Invalid default value for variable", "its default")
		}
	}
}

// literal evaluates attr with no variables or functions in scope, as
// defaults and var files must be literal values.
func (r *reader) literal(attr *hcl.Attribute) (cty.Value, bool) {
	val, diags := attr.Expr.Value(nil)
	r.diags = append(r.diags, diags...)
	return val, !diags.HasErrors()
}

// assign converts val to v's type and makes it v's value. source names the
// value in messages ("its default", "-var shards=abc").
func (r *reader) assign(v *variable, val cty.Value, rng hcl.Range, summary, source string) {
	conv, err := convert.Convert(val, v.ty)
	if err != nil {
		r.errorAt(rng, summary, "Variable %q has type %s, and %s is not valid for it: %s.",
			v.name, typeexpr.TypeString(v.ty), source, err)
		v.failed = true
		return
	}
	v.val, v.set = conv, true
}

// assignVarFile applies the values in the -var-file at path.
func (r *reader) assignVarFile(path string) {
	src, err := os.ReadFile(path)
	if err != nil {
		r.diags = append(r.diags, &hcl.Diagnostic{
			Severity: hcl.DiagError,
			Summary:  "Failed to read file",
			Detail:   fmt.Sprintf("The var file %q could not be read: %s.", path, err),
		})
		return
	}
	if d := textfile.Check(path, "variables file", src); d != nil {
		r.diags = append(r.diags, d)
		return
	}
	p := hclparse.NewParser()
	var file *hcl.File
	var diags hcl.Diagnostics
	if strings.HasSuffix(path, ".json") {
		file, diags = p.ParseJSON(src, path)
	} else {
		file, diags = p.ParseHCL(src, path)
	}
	r.diags = append(r.diags, diags...)
	if diags.HasErrors() {
		return
	}
	attrs, diags := file.Body.JustAttributes()
	r.diags = append(r.diags, diags...)
	for _, attr := range sortedAttributes(attrs) {
		v, ok := r.vars[attr.Name]
		if !ok {
			r.errorAt(attr.NameRange, "Value for undeclared variable",
				"The var file %s sets %q, but the graph declares no variable of that name.%s",
				path, attr.Name, suggest(attr.Name, r.varNames()))
			continue
		}
		if val, ok := r.literal(attr); ok {
			r.assign(v, val, attr.Expr.Range(), "Invalid value for variable", "the value in "+path)
		}
	}
}

// assignVarFlags applies -var values, in name order so that diagnostics are
// stable.
func (r *reader) assignVarFlags(vals map[string]string) {
	names := make([]string, 0, len(vals))
	for name := range vals {
		names = append(names, name)
	}
	slices.Sort(names)
	for _, name := range names {
		raw := vals[name]
		rng := flagRange(name, raw)
		v, ok := r.vars[name]
		if !ok {
			r.errorAt(rng, "Value for undeclared variable",
				"A value was given with -var %s=..., but the graph declares no variable %q.%s",
				name, name, suggest(name, r.varNames()))
			continue
		}
		r.assign(v, flagValue(raw, v.ty, rng), rng, "Invalid value for variable",
			fmt.Sprintf("-var %s=%s", name, raw))
	}
}

// flagValue reads a -var value: the raw string for string-typed variables,
// else an HCL literal if raw is one, else the raw string.
func flagValue(raw string, ty cty.Type, rng hcl.Range) cty.Value {
	if ty == cty.String {
		return cty.StringVal(raw)
	}
	expr, diags := hclsyntax.ParseExpression([]byte(raw), rng.Filename, rng.Start)
	if diags.HasErrors() {
		return cty.StringVal(raw)
	}
	val, diags := expr.Value(nil)
	if diags.HasErrors() || !val.IsWhollyKnown() {
		return cty.StringVal(raw)
	}
	return val
}

// flagRange is the pseudo-file range diagnostics about a -var value point
// at, as Terraform does: "<value for var.NAME>", line 1.
func flagRange(name, raw string) hcl.Range {
	n := len(raw)
	return hcl.Range{
		Filename: fmt.Sprintf("<value for var.%s>", name),
		Start:    hcl.Pos{Line: 1, Column: 1, Byte: 0},
		End:      hcl.Pos{Line: 1, Column: 1 + utf8.RuneCountInString(raw), Byte: n},
	}
}

// varsObject is the value of var in expressions. Required variables with
// no value are reported here; they, and variables whose value was invalid,
// are unknown, so expressions using them are skipped without further
// diagnostics.
func (r *reader) varsObject() cty.Value {
	vals := make(map[string]cty.Value, len(r.vars))
	for _, name := range r.varNames() {
		v := r.vars[name]
		switch {
		case v.failed:
			vals[name] = cty.DynamicVal
		case !v.set:
			r.errorAt(v.defRange, "No value for required variable",
				"Variable %q has no default, and no value was given. Set it with -var %s=VALUE or in a -var-file, or give the variable a default.",
				name, name)
			vals[name] = cty.DynamicVal
		default:
			vals[name] = v.val
		}
	}
	return cty.ObjectVal(vals)
}

// varNames lists the declared variables in declaration order.
func (r *reader) varNames() []string {
	names := make([]string, 0, len(r.vars))
	for name := range r.vars {
		names = append(names, name)
	}
	slices.SortFunc(names, func(a, b string) int { return r.vars[a].order - r.vars[b].order })
	return names
}

// sortedAttributes lists attrs in source order.
func sortedAttributes(attrs hcl.Attributes) []*hcl.Attribute {
	out := make([]*hcl.Attribute, 0, len(attrs))
	for _, a := range attrs {
		out = append(out, a)
	}
	slices.SortFunc(out, func(a, b *hcl.Attribute) int { return a.Range.Start.Byte - b.Range.Start.Byte })
	return out
}
