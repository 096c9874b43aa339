package simulate

import (
	"bytes"
	"encoding/xml"
	"errors"
	"io"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/shardwise/shardwise/planner/plan"
)

func ganttResult(t *testing.T) *Result {
	t.Helper()
	p := &plan.Plan{
		Shards: []*plan.Shard{
			sh("s000-load", "io-bound", 20), sh("s001-<train>&co", "gpu-accelerated", 60, "s000-load"),
			sh("s002-a", "cpu-heavy", 5, "s000-load"), sh("s003-b", "cpu-heavy", 30, "s000-load"),
			sh("s004-c", "cpu-heavy", 7, "s000-load"), sh("s005-report", "custom", 2, "s001-<train>&co", "s003-b"),
		},
		Channels: []*plan.Channel{ch("s000-load", "s001-<train>&co", 4e9)},
	}
	c := cat(
		class("cpu-heavy", 2, 1.25e8, 10*time.Second), class("io-bound", 1, 1.25e9, 10*time.Second),
		class("gpu-accelerated", 4, 1.25e9, 30*time.Second), class("custom", 1, 1.25e8, time.Second),
	)
	return mustRun(t, p, c, Options{})
}

// decodeSVG parses the SVG to its end and returns the data-shard IDs of the
// rects of class "shard", sorted.
func decodeSVG(t *testing.T, svg []byte) []string {
	t.Helper()
	d := xml.NewDecoder(bytes.NewReader(svg))
	var ids []string
	root := ""
	for {
		tok, err := d.Token()
		if err == io.EOF {
			break
		}
		if err != nil {
			t.Fatalf("SVG is not well-formed XML: %v\n%s", err, svg)
		}
		se, ok := tok.(xml.StartElement)
		if !ok {
			continue
		}
		if root == "" {
			root = se.Name.Space + " " + se.Name.Local
		}
		if se.Name.Local != "rect" || attr(se, "class") != "shard" {
			continue
		}
		ids = append(ids, attr(se, "data-shard"))
	}
	if root != "http://www.w3.org/2000/svg svg" {
		t.Errorf("root element %q, want svg in the SVG namespace", root)
	}
	sort.Strings(ids)
	return ids
}

func attr(se xml.StartElement, name string) string {
	for _, a := range se.Attr {
		if a.Name.Local == name {
			return a.Value
		}
	}
	return ""
}

func TestGanttSVGIsWellFormedWithOneRectPerShard(t *testing.T) {
	r := ganttResult(t)
	var buf bytes.Buffer
	if err := WriteGanttSVG(&buf, r, `plan "x" <&> y`); err != nil {
		t.Fatal(err)
	}
	got := decodeSVG(t, buf.Bytes())
	var want []string
	for _, s := range r.Shards {
		want = append(want, s.ID)
	}
	sort.Strings(want)
	if strings.Join(got, ",") != strings.Join(want, ",") {
		t.Errorf("shard rects %v, want one for each of %v", got, want)
	}
	for _, s := range []string{">s002-a</text>", "cpu-heavy #1", "time (s)", "2 of 2 instances used"} {
		if !strings.Contains(buf.String(), s) {
			t.Errorf("SVG lacks %q", s)
		}
	}
}

func TestGanttSVGEmptyResult(t *testing.T) {
	var buf bytes.Buffer
	if err := WriteGanttSVG(&buf, &Result{}, "empty"); err != nil {
		t.Fatal(err)
	}
	if ids := decodeSVG(t, buf.Bytes()); len(ids) != 0 {
		t.Errorf("empty result drew shards %v", ids)
	}
}

func TestTicks(t *testing.T) {
	tests := []struct{ span, step, end float64 }{
		{35, 5, 35}, {100, 20, 100}, {101, 20, 120}, {0, 0.2, 1}, {7.3, 1, 8}, {2500, 500, 2500},
	}
	for _, tc := range tests {
		if step, end := ticks(tc.span); step != tc.step || end != tc.end {
			t.Errorf("ticks(%v) = %v, %v; want %v, %v", tc.span, step, end, tc.step, tc.end)
		}
	}
	if got := tickLabel(0.6000000000000001, 0.2); got != "0.6" {
		t.Errorf("tickLabel = %q, want 0.6", got)
	}
}

func TestGanttHTML(t *testing.T) {
	r := ganttResult(t)
	var buf bytes.Buffer
	if err := WriteGanttHTML(&buf, r, "run <1>"); err != nil {
		t.Fatal(err)
	}
	html := buf.String()
	for _, s := range []string{"<!DOCTYPE html>", "<title>run &lt;1&gt;</title>", "<svg ", "Utilisation by class", "background: #0072B2"} {
		if !strings.Contains(html, s) {
			t.Errorf("HTML lacks %q", s)
		}
	}
	for _, s := range []string{"ZgotmplZ", "<script", "http://", "https://"} {
		if strings.Contains(strings.ReplaceAll(html, "http://www.w3.org/2000/svg", ""), s) {
			t.Errorf("HTML contains %q", s)
		}
	}
	for _, cs := range r.Classes {
		if !strings.Contains(html, ">"+cs.Class+"</td>") {
			t.Errorf("utilisation table lacks class %s", cs.Class)
		}
	}
}

type failWriter struct{}

func (failWriter) Write([]byte) (int, error) { return 0, errors.New("disk full") }

func TestGanttWriteErrors(t *testing.T) {
	r := ganttResult(t)
	if err := WriteGanttSVG(failWriter{}, r, "x"); err == nil || err.Error() != "disk full" {
		t.Errorf("SVG: err = %v, want disk full", err)
	}
	if err := WriteGanttHTML(failWriter{}, r, "x"); err == nil {
		t.Error("HTML: no error from a failing writer")
	}
	if err := WriteGanttSVG(io.Discard, nil, "x"); err == nil {
		t.Error("nil result: no error")
	}
}
