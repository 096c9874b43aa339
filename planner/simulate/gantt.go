package simulate

import (
	"encoding/xml"
	"errors"
	"fmt"
	"io"
	"math"
	"strconv"
	"strings"
)

// Chart geometry, in SVG user units (pixels).
const (
	chartWidth  = 1000.0
	labelWidth  = 170.0 // row labels left of the plot
	rightMargin = 24.0
	titleHeight = 30.0
	legendRow   = 22.0
	rowHeight   = 22.0
	barPad      = 3.0  // space above and below a bar in its row
	axisHeight  = 40.0 // tick labels and the axis caption
	charWidth   = 6.6  // advance of one 11px monospace character
	targetTicks = 8
)

// palette is the Okabe-Ito colour-blind-safe palette (M. Okabe and K. Ito,
// "Color Universal Design", 2008), black left out.
var palette = []string{"#E69F00", "#56B4E9", "#009E73", "#F0E442", "#0072B2", "#D55E00", "#CC79A7", "#999999"}

// knownColours fixes the colours of the default catalog's classes, so that
// charts of different plans agree.
var knownColours = map[string]string{
	"cpu-heavy":        "#0072B2",
	"memory-intensive": "#009E73",
	"io-bound":         "#E69F00",
	"gpu-accelerated":  "#D55E00",
	"low-latency":      "#CC79A7",
}

// classColours gives each class of r a colour: its fixed colour if it has
// one, else the first palette colour not yet taken (cycling when all are).
func classColours(r *Result) map[string]string {
	out := map[string]string{}
	taken := map[string]bool{}
	for _, cs := range r.Classes {
		if c, ok := knownColours[cs.Class]; ok {
			out[cs.Class], taken[c] = c, true
		}
	}
	next := 0
	for _, cs := range r.Classes {
		if _, ok := out[cs.Class]; ok {
			continue
		}
		c := palette[next%len(palette)]
		for k := 0; taken[c] && k < len(palette); k++ {
			next++
			c = palette[next%len(palette)]
		}
		out[cs.Class], taken[c] = c, true
		next++
	}
	return out
}

// textOn returns black or white, whichever reads better on hex colour bg
// (relative luminance threshold; WCAG 2.1, "relative luminance").
func textOn(bg string) string {
	v, err := strconv.ParseUint(strings.TrimPrefix(bg, "#"), 16, 32)
	if err != nil {
		return "#000"
	}
	lin := func(c uint64) float64 {
		s := float64(c) / 255
		if s <= 0.04045 {
			return s / 12.92
		}
		return math.Pow((s+0.055)/1.055, 2.4)
	}
	l := 0.2126*lin(v>>16&0xff) + 0.7152*lin(v>>8&0xff) + 0.0722*lin(v&0xff)
	if l < 0.18 {
		return "#fff"
	}
	return "#000"
}

// ticks returns a step of 1, 2 or 5 times a power of ten giving about
// targetTicks intervals over [0, span], and the axis end: span rounded up
// to a whole step. span <= 0 is treated as 1 second.
func ticks(span float64) (step, end float64) {
	if !(span > 0) {
		span = 1
	}
	raw := span / targetTicks
	mag := math.Pow(10, math.Floor(math.Log10(raw)))
	step = 10 * mag
	for _, m := range []float64{1, 2, 5} {
		if m*mag >= raw {
			step = m * mag
			break
		}
	}
	return step, math.Ceil(span/step-1e-9) * step
}

// tickLabel prints v with as many decimals as step needs.
func tickLabel(v, step float64) string {
	d := 0
	if step < 1 {
		d = int(math.Ceil(-math.Log10(step) - 1e-9))
	}
	return strconv.FormatFloat(v, 'f', d, 64)
}

// esc escapes s for XML text and attribute values.
func esc(s string) string {
	var b strings.Builder
	_ = xml.EscapeText(&b, []byte(s)) // a strings.Builder never fails
	return b.String()
}

// svgWriter writes formatted output and keeps the first error.
type svgWriter struct {
	w   io.Writer
	err error
}

func (s *svgWriter) printf(format string, args ...any) {
	if s.err == nil {
		_, s.err = fmt.Fprintf(s.w, format, args...)
	}
}

// gantt is a laid-out chart.
type gantt struct {
	r       *Result
	title   string
	colours map[string]string
	// row[class] is the index of the class's instance 0 row.
	row         map[string]int
	rows        int
	step, end   float64 // seconds
	top, height float64 // plot area, pixels
}

func layout(r *Result, title string) *gantt {
	g := &gantt{r: r, title: title, colours: classColours(r), row: map[string]int{}}
	for _, cs := range r.Classes {
		g.row[cs.Class] = g.rows
		g.rows += max(cs.InstancesUsed, 1)
	}
	g.step, g.end = ticks(r.MakespanSeconds)
	g.top = titleHeight + legendRow*float64(legendLines(len(r.Classes)))
	g.height = g.top + rowHeight*float64(g.rows) + axisHeight
	return g
}

// legendLines is how many legend lines n classes take, three to a line.
func legendLines(n int) int { return max(1, (n+2)/3) }

// x maps a time in seconds to a horizontal position.
func (g *gantt) x(t float64) float64 {
	return labelWidth + t/g.end*(chartWidth-labelWidth-rightMargin)
}

// WriteGanttSVG writes r as an SVG Gantt chart to w: one row per class
// instance that ran a shard (instances a class never used are left out;
// the legend gives each class's instance count), one bar per shard from its
// start to its finish, coloured by class, its start-up latency drawn paler,
// labelled with the shard ID where the ID fits, with a tooltip giving the
// times; a time axis in seconds, a dashed line at the makespan, and a
// legend with each class's utilisation. Each shard's bar is the one <rect>
// with class "shard" and a data-shard attribute holding its ID. The output
// is a standalone SVG 1.1 document (no XML declaration, so that it can
// also be inlined in HTML) and needs no external assets. It returns w's
// first error.
func WriteGanttSVG(w io.Writer, r *Result, title string) error {
	if r == nil {
		return errors.New("simulate: nil result")
	}
	g := layout(r, title)
	s := &svgWriter{w: w}
	s.printf(`<svg xmlns="http://www.w3.org/2000/svg" width="%.0f" height="%.0f" viewBox="0 0 %.0f %.0f" font-family="sans-serif" font-size="11">`+"\n",
		chartWidth, g.height, chartWidth, g.height)
	s.printf("<title>%s</title>\n", esc(title))
	s.printf(`<rect class="background" x="0" y="0" width="%.0f" height="%.0f" fill="#fff"/>`+"\n", chartWidth, g.height)
	s.printf(`<text x="%.1f" y="20" font-size="15" font-weight="bold">%s</text>`+"\n", 8.0, esc(title))
	g.writeLegend(s)
	g.writeRows(s)
	g.writeAxis(s)
	g.writeBars(s)
	s.printf("</svg>\n")
	return s.err
}

func (g *gantt) writeLegend(s *svgWriter) {
	for k, cs := range g.r.Classes {
		x := 8 + float64(k%3)*330
		y := titleHeight + float64(k/3)*legendRow
		s.printf(`<rect class="legend" x="%.1f" y="%.1f" width="14" height="14" fill="%s"/>`, x, y+2, g.colours[cs.Class])
		s.printf(`<text x="%.1f" y="%.1f">%s: %d of %d instances used, %.1f%% busy</text>`+"\n",
			x+20, y+13, esc(cs.Class), cs.InstancesUsed, cs.Instances, 100*cs.Utilisation)
	}
}

func (g *gantt) writeRows(s *svgWriter) {
	for _, cs := range g.r.Classes {
		for i := 0; i < max(cs.InstancesUsed, 1); i++ {
			row := g.row[cs.Class] + i
			y := g.top + rowHeight*float64(row)
			fill := "#f4f4f4"
			if row%2 == 1 {
				fill = "#fafafa"
			}
			s.printf(`<rect class="row" x="%.1f" y="%.1f" width="%.1f" height="%.1f" fill="%s"/>`,
				labelWidth, y, chartWidth-labelWidth-rightMargin, rowHeight, fill)
			s.printf(`<text x="%.1f" y="%.1f" text-anchor="end">%s #%d</text>`+"\n",
				labelWidth-6, y+rowHeight/2+4, esc(cs.Class), i)
		}
	}
}

func (g *gantt) writeAxis(s *svgWriter) {
	y0, y1 := g.top, g.top+rowHeight*float64(g.rows)
	s.printf(`<line x1="%.1f" y1="%.1f" x2="%.1f" y2="%.1f" stroke="#333"/>`+"\n", labelWidth, y1, g.x(g.end), y1)
	n := int(math.Round(g.end / g.step))
	for k := 0; k <= n; k++ {
		t := float64(k) * g.step
		x := g.x(t)
		s.printf(`<line x1="%.1f" y1="%.1f" x2="%.1f" y2="%.1f" stroke="#ddd"/>`, x, y0, x, y1)
		s.printf(`<line x1="%.1f" y1="%.1f" x2="%.1f" y2="%.1f" stroke="#333"/>`, x, y1, x, y1+4)
		s.printf(`<text x="%.1f" y="%.1f" text-anchor="middle">%s</text>`+"\n", x, y1+16, tickLabel(t, g.step))
	}
	xm := g.x(g.r.MakespanSeconds)
	s.printf(`<line class="makespan" x1="%.1f" y1="%.1f" x2="%.1f" y2="%.1f" stroke="#c00" stroke-dasharray="4 3"/>`+"\n", xm, y0, xm, y1)
	s.printf(`<text x="%.1f" y="%.1f" text-anchor="middle">time (s); makespan %s s</text>`+"\n",
		g.x(g.end/2), y1+32, strconv.FormatFloat(g.r.MakespanSeconds, 'g', 6, 64))
}

func (g *gantt) writeBars(s *svgWriter) {
	for _, run := range g.r.Shards {
		y := g.top + rowHeight*float64(g.row[run.Class]+run.Instance) + barPad
		h := rowHeight - 2*barPad
		x0, x1 := g.x(run.StartSeconds), g.x(run.FinishSeconds)
		wd := max(x1-x0, 1)
		colour := g.colours[run.Class]
		s.printf(`<rect class="shard" data-shard="%s" x="%.2f" y="%.1f" width="%.2f" height="%.1f" fill="%s" stroke="#333" stroke-width="0.5">`,
			esc(run.ID), x0, y, wd, h, colour)
		s.printf("<title>%s on %s #%d: start %s s, start-up %s s, run %s s, finish %s s</title></rect>\n",
			esc(run.ID), esc(run.Class), run.Instance, secs(run.StartSeconds), secs(run.StartupSeconds),
			secs(run.RuntimeSeconds), secs(run.FinishSeconds))
		if su := g.x(run.StartSeconds+run.StartupSeconds) - x0; su > 0 {
			s.printf(`<rect class="startup" x="%.2f" y="%.1f" width="%.2f" height="%.1f" fill="#fff" fill-opacity="0.45" pointer-events="none"/>`+"\n",
				x0, y, min(su, wd), h)
		}
		if charWidth*float64(len([]rune(run.ID)))+6 <= wd {
			s.printf(`<text x="%.2f" y="%.1f" font-family="monospace" fill="%s" pointer-events="none">%s</text>`+"\n",
				x0+3, y+h/2+4, textOn(colour), esc(run.ID))
		}
	}
}

// secs prints seconds compactly (up to 6 significant digits).
func secs(v float64) string { return strconv.FormatFloat(v, 'g', 6, 64) }
