package simulate

import (
	"errors"
	"html/template"
	"io"
	"strconv"
	"strings"
)

// pageTemplate is the self-contained report page: no scripts, no external
// stylesheets, fonts or images.
var pageTemplate = template.Must(template.New("page").Funcs(template.FuncMap{
	"secs": secs,
	"pct":  func(v float64) string { return strconv.FormatFloat(100*v, 'f', 1, 64) + "%" },
}).Parse(`<!DOCTYPE html>
<html lang="en">
<head>
<meta charset="utf-8">
<title>{{.Title}}</title>
<style>
body { font-family: sans-serif; margin: 1.5em; color: #222; }
table { border-collapse: collapse; margin: 1em 0; }
th, td { border: 1px solid #ccc; padding: 0.25em 0.6em; }
td.n { text-align: right; font-variant-numeric: tabular-nums; }
th { background: #f0f0f0; }
.swatch { display: inline-block; width: 0.9em; height: 0.9em; margin-right: 0.4em; vertical-align: middle; }
</style>
</head>
<body>
<h1>{{.Title}}</h1>
<p>Makespan {{secs .R.MakespanSeconds}} s; {{.R.Allocations}} allocations; {{.R.BytesMoved}} bytes moved between shards.</p>
{{.SVG}}
<h2>Utilisation by class</h2>
<table>
<tr><th>class</th><th>instances</th><th>instances used</th><th>shards</th><th>busy (instance-s)</th><th>of which start-up (s)</th><th>utilisation</th></tr>
{{range .R.Classes}}<tr><td><span class="swatch" style="background: {{index $.Colours .Class}}"></span>{{.Class}}</td><td class="n">{{.Instances}}</td><td class="n">{{.InstancesUsed}}</td><td class="n">{{.Shards}}</td><td class="n">{{secs .BusySeconds}}</td><td class="n">{{secs .StartupSeconds}}</td><td class="n">{{pct .Utilisation}}</td></tr>
{{end}}</table>
<h2>Shards</h2>
<table>
<tr><th>shard</th><th>class</th><th>instance</th><th>ready (s)</th><th>start (s)</th><th>wait (s)</th><th>start-up (s)</th><th>runtime (s)</th><th>finish (s)</th></tr>
{{range .R.Shards}}<tr><td>{{.ID}}</td><td>{{.Class}}</td><td class="n">{{.Instance}}</td><td class="n">{{secs .ReadySeconds}}</td><td class="n">{{secs .StartSeconds}}</td><td class="n">{{secs .WaitSeconds}}</td><td class="n">{{secs .StartupSeconds}}</td><td class="n">{{secs .RuntimeSeconds}}</td><td class="n">{{secs .FinishSeconds}}</td></tr>
{{end}}</table>
</body>
</html>
`))

// page is the data pageTemplate renders.
type page struct {
	Title   string
	R       *Result
	SVG     template.HTML
	Colours map[string]string
}

// WriteGanttHTML writes a self-contained HTML page to w: the title, the
// makespan, allocation count and bytes moved, the chart of WriteGanttSVG
// inline, a table of each class's utilisation and a table of each shard's
// ready, start, wait, start-up, runtime and finish times (seconds). It uses
// no scripts or external assets. It returns w's first error.
func WriteGanttHTML(w io.Writer, r *Result, title string) error {
	if r == nil {
		return errors.New("simulate: nil result")
	}
	var svg strings.Builder
	if err := WriteGanttSVG(&svg, r, title); err != nil {
		return err
	}
	// The SVG is trusted: WriteGanttSVG escapes every name it writes.
	return pageTemplate.Execute(w, page{Title: title, R: r, SVG: template.HTML(svg.String()), Colours: classColours(r)})
}
