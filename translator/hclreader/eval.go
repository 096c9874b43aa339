package hclreader

import (
	"fmt"
	"math"
	"path/filepath"
	"slices"
	"strings"
	"time"

	"github.com/hashicorp/hcl/v2"
	"github.com/hashicorp/hcl/v2/hclsyntax"
	"github.com/zclconf/go-cty/cty"
	"github.com/zclconf/go-cty/cty/convert"
	"github.com/zclconf/go-cty/cty/gocty"

	"github.com/shardwise/shardwise/planner/units"
)

// reader holds the state of one Parse call: the options, the declared
// variables, the evaluation context and every diagnostic so far.
type reader struct {
	opts  Options
	vars  map[string]*variable
	ctx   *hcl.EvalContext
	diags hcl.Diagnostics
}

// errorAt records an error diagnostic whose subject is rng.
func (r *reader) errorAt(rng hcl.Range, summary, format string, args ...any) {
	subject := rng
	r.diags = append(r.diags, &hcl.Diagnostic{
		Severity: hcl.DiagError,
		Summary:  summary,
		Detail:   fmt.Sprintf(format, args...),
		Subject:  &subject,
	})
}

// attrs evaluates the arguments of one block. where names the block in
// messages, e.g. `output "features" of task "prepare"`.
type attrs struct {
	r     *reader
	c     content
	where where
}

func (r *reader) attrs(c content, where where) attrs {
	return attrs{r: r, c: c, where: where}
}

// where names a block in messages: format with one or two %q verbs and
// their names, formatted only when a message needs it (a large graph
// file has tens of thousands of blocks and, mostly, no message).
type where struct{ format, a, b string }

func (w where) String() string {
	if strings.Count(w.format, "%") == 1 {
		return fmt.Sprintf(w.format, w.a)
	}
	return fmt.Sprintf(w.format, w.a, w.b)
}

// get evaluates argument name and converts it to ty. It returns the
// value's expression, and false when the argument is absent, null, or
// failed to evaluate (in which case a diagnostic has been recorded).
func (a attrs) get(name string, ty cty.Type) (cty.Value, hcl.Expression, bool) {
	expr, _, ok := a.c.attr(name)
	if !ok || !a.r.checkRefs(expr) {
		return cty.NilVal, expr, false
	}
	raw, diags := value(expr, a.r.ctx)
	a.r.diags = append(a.r.diags, diags...)
	// An unknown value comes from a variable whose error is already reported.
	if diags.HasErrors() || raw.IsNull() || !raw.IsWhollyKnown() {
		return cty.NilVal, expr, false
	}
	val, err := convert.Convert(raw, ty)
	if err != nil {
		a.r.errorAt(expr.Range(), "Incorrect value type",
			"Argument %q of %s must be %s, not %s.", name, a.where, typeName(ty), typeName(raw.Type()))
		return cty.NilVal, expr, false
	}
	return val, expr, true
}

// isNull reports whether argument name is given and evaluates, without
// errors, to null: for a required argument, which null leaves unset.
func (a attrs) isNull(name string) bool {
	expr, _, ok := a.c.attr(name)
	if !ok {
		return false
	}
	v, diags := value(expr, a.r.ctx)
	return !diags.HasErrors() && v.IsNull()
}

// value is expr.Value(ctx), read directly for a quoted string of literal
// text, the commonest value in a graph file: a template of one literal
// string part has that string as its value, with no diagnostic.
func value(expr hcl.Expression, ctx *hcl.EvalContext) (cty.Value, hcl.Diagnostics) {
	if t, ok := expr.(*hclsyntax.TemplateExpr); ok && len(t.Parts) == 1 && fastDecode {
		if lit, ok := t.Parts[0].(*hclsyntax.LiteralValueExpr); ok && lit.Val.Type() == cty.String &&
			lit.Val.IsKnown() && !lit.Val.IsNull() && !lit.Val.IsMarked() {
			return lit.Val, nil
		}
	}
	return expr.Value(ctx)
}

// rangeOf is the range of argument name's value.
func (a attrs) rangeOf(name string) hcl.Range {
	expr, _, _ := a.c.attr(name)
	return expr.Range()
}

// typeName names a type for messages: "a string", "a list of strings".
func typeName(ty cty.Type) string {
	switch {
	case ty == cty.String:
		return "a string"
	case ty == cty.Number:
		return "a number"
	case ty == cty.Bool:
		return "a bool"
	case ty.Equals(cty.List(cty.String)):
		return "a list of strings"
	case ty.Equals(cty.Map(cty.String)):
		return "a map of strings"
	case ty.IsObjectType():
		return "an object"
	default:
		return "a " + ty.FriendlyName()
	}
}

// str sets *dst to the string value of argument name, if given.
func (a attrs) str(name string, dst *string) bool {
	v, _, ok := a.get(name, cty.String)
	if ok {
		*dst = v.AsString()
	}
	return ok
}

// localPath sets *dst to the string value of argument name, if given and a
// path that stays inside the task dir (filepath.IsLocal): the shard driver
// refuses any other channel path when the task starts, after its upstream
// shards have run, and raw_exec would write or read outside the task.
func (a attrs) localPath(name string, dst *string) {
	var s string
	if !a.str(name, &s) {
		return
	}
	if !filepath.IsLocal(s) {
		a.r.errorAt(a.rangeOf(name), "Invalid path",
			"Argument %q of %s is %q; it must be a relative path that stays inside the task dir (no leading \"/\", no \"..\", not empty).", name, a.where, s)
		return
	}
	*dst = s
}

// oneOf sets *dst to the string value of argument name, if given and one of
// allowed; anything else is an error with the given summary.
func (a attrs) oneOf(name, summary string, allowed []string, dst *string) {
	var s string
	if !a.str(name, &s) {
		return
	}
	if !slices.Contains(allowed, s) {
		a.r.errorAt(a.rangeOf(name), summary,
			"Argument %q of %s is %q; it must be one of %s.", name, a.where, s, quoteList(allowed, "or"))
		return
	}
	*dst = s
}

// boolean sets *dst to the bool value of argument name, if given.
func (a attrs) boolean(name string, dst *bool) {
	if v, _, ok := a.get(name, cty.Bool); ok {
		*dst = v.True()
	}
}

// integer sets *dst to the whole-number value of argument name, if given and
// within lo..hi (hi = math.MaxInt for no upper bound, lo = math.MinInt for
// none: the caller checks the value and says what it must be).
func (a attrs) integer(name string, lo, hi int, dst *int) bool {
	v, expr, ok := a.get(name, cty.Number)
	if !ok {
		return false
	}
	var n int
	if err := gocty.FromCtyValue(v, &n); err != nil || n < lo || n > hi {
		bound := "" // lo = math.MinInt: the caller checks the range itself
		switch {
		case hi < math.MaxInt:
			bound = fmt.Sprintf(" from %d to %d", lo, hi)
		case lo > math.MinInt:
			bound = fmt.Sprintf(" of at least %d", lo)
		}
		a.r.errorAt(expr.Range(), "Invalid value",
			"Argument %q of %s is %s; it must be a whole number%s.", name, a.where, v.AsBigFloat().Text('g', -1), bound)
		return false
	}
	*dst = n
	return true
}

// strings sets *dst to the list-of-strings value of argument name, if given.
// Numbers and bools in the list are converted to strings.
func (a attrs) strings(name string, dst *[]string) {
	v, _, ok := a.get(name, cty.List(cty.String))
	if !ok {
		return
	}
	out := make([]string, 0, v.LengthInt())
	for _, e := range v.AsValueSlice() {
		if !e.IsNull() {
			out = append(out, e.AsString())
		}
	}
	*dst = out
}

// stringMap sets *dst to the map-of-strings value of argument name, if given.
func (a attrs) stringMap(name string, dst *map[string]string) {
	v, _, ok := a.get(name, cty.Map(cty.String))
	if !ok {
		return
	}
	out := make(map[string]string, v.LengthInt())
	for k, e := range v.AsValueMap() {
		if !e.IsNull() {
			out[k] = e.AsString()
		}
	}
	*dst = out
}

// size sets *dst to the size in bytes of argument name (a string such as
// "40GiB" or a bare number of bytes), if given and valid.
func (a attrs) size(name string, dst *int64) bool {
	return a.parsed(name, "Invalid size", func(s string) error {
		b, err := units.ParseSize(s)
		*dst = b
		return err
	})
}

// resourceMiB sets *dst to argument name, a memory, disk or GPU memory
// amount, in MiB rounded up (see units.ParseResourceMiB: a bare number
// below 1 MiB is an error). With process, an amount with a unit below
// 1 MiB gets a warning: too little for a process's memory.
func (a attrs) resourceMiB(name string, process bool, dst *int64) bool {
	var small bool
	ok := a.parsed(name, "Invalid size", func(s string) error {
		m, sm, err := units.ParseResourceMiB(s)
		*dst, small = m, sm
		return err
	})
	if ok && small && process {
		rng := a.rangeOf(name)
		detail := fmt.Sprintf("Argument %q of %s is below 1 MiB, too little for a process; it is taken as 1 MiB, and Nomad gives a task at least 10 MiB of memory. Did you mean MiB?",
			name, a.where)
		if name == "gpu_memory" {
			detail = fmt.Sprintf("Argument %q of %s is below 1 MiB, too little for a GPU; it is taken as 1 MiB. Did you mean MiB?", name, a.where)
		}
		a.r.diags = append(a.r.diags, &hcl.Diagnostic{
			Severity: hcl.DiagWarning,
			Summary:  "Implausibly small size",
			Detail:   detail,
			Subject:  &rng,
		})
	}
	return ok
}

// duration sets *dst to the duration of argument name (a string such as
// "10m" or "2d", or a bare number of seconds), if given and valid.
func (a attrs) duration(name string, dst *time.Duration) bool {
	return a.parsed(name, "Invalid duration", func(s string) error {
		d, err := units.ParseDuration(s)
		*dst = d
		return err
	})
}

// parsed evaluates argument name as a string and hands it to parse,
// reporting parse's error under summary.
func (a attrs) parsed(name, summary string, parse func(string) error) bool {
	var s string
	if !a.str(name, &s) {
		return false
	}
	if err := parse(s); err != nil {
		a.r.errorAt(a.rangeOf(name), summary, "Argument %q of %s: %s.", name, a.where, err)
		return false
	}
	return true
}

// has reports whether argument name is present.
func (a attrs) has(name string) bool {
	_, _, ok := a.c.attr(name)
	return ok
}

// quoteList quotes names and joins them with commas and conj ("and", "or").
func quoteList(names []string, conj string) string {
	q := make([]string, len(names))
	for i, n := range names {
		q[i] = fmt.Sprintf("%q", n)
	}
	switch len(q) {
	case 0:
		return "none"
	case 1:
		return q[0]
	}
	return strings.Join(q[:len(q)-1], ", ") + " " + conj + " " + q[len(q)-1]
}
