package main

import (
	"bytes"
	"fmt"
	"io"
	"os"
	"strings"
	"unicode"
	"unicode/utf8"

	"github.com/hashicorp/hcl/v2"

	"github.com/shardwise/shardwise/planner/units"
)

// printDiags writes HCL diagnostics compiler-style, one block each:
//
//	graph.hcl:12:14: error: Unknown task reference
//	   12 |     from = task.extrct.output.raw
//	      |            ^^^^^^^^^^^
//	  No task "extrct" in graph "etl". Did you mean "extract"?
//
// Source lines are re-read from the files the diagnostics name; a file
// that cannot be read is reported without its snippet.
//
// At most maxDiags are printed, then one line counting the rest: a wrong
// file can give thousands, each echoing its source line.
func printDiags(w io.Writer, diags hcl.Diagnostics) {
	sources := map[string][][]byte{}
	for i, d := range diags {
		if i == maxDiags {
			fmt.Fprintln(w, moreDiags(diags[i:]))
			return
		}
		fmt.Fprintln(w, diagHeader(d))
		if d.Subject != nil {
			writeSnippet(w, d.Subject, sourceLines(sources, d.Subject.Filename))
		}
		if d.Detail != "" {
			fmt.Fprintf(w, "  %s\n", strings.ReplaceAll(d.Detail, "\n", "\n  "))
		}
		fmt.Fprintln(w)
	}
}

// maxDiags is how many diagnostics printDiags prints in full.
const maxDiags = 10

// moreDiags is the line that stands for the diagnostics not printed.
func moreDiags(rest hcl.Diagnostics) string {
	errs := len(rest.Errs())
	var parts []string
	if errs > 0 {
		parts = append(parts, units.Count(errs, "more error"))
	}
	if warns := len(rest) - errs; warns > 0 {
		parts = append(parts, units.Count(warns, "more warning"))
	}
	return fmt.Sprintf("... and %s not shown (fix the first ones: they often cause the rest)", strings.Join(parts, " and "))
}

func diagHeader(d *hcl.Diagnostic) string {
	sev := "error"
	if d.Severity == hcl.DiagWarning {
		sev = "warning"
	}
	if d.Subject == nil {
		return fmt.Sprintf("%s: %s", sev, d.Summary)
	}
	s := d.Subject.Start
	return fmt.Sprintf("%s:%d:%d: %s: %s", d.Subject.Filename, s.Line, s.Column, sev, d.Summary)
}

func sourceLines(cache map[string][][]byte, name string) [][]byte {
	if lines, ok := cache[name]; ok {
		return lines
	}
	src, err := os.ReadFile(name)
	if err != nil {
		cache[name] = nil
		return nil
	}
	lines := bytes.Split(src, []byte("\n"))
	cache[name] = lines
	return lines
}

// writeSnippet prints the subject's first line with carets under the
// subject's columns (to the end of the line when it spans several). A line
// longer than maxSnippet bytes is cut to a window around the subject, and
// bytes that are not printable text print as "?", so a snippet is one
// short terminal line whatever the file holds.
func writeSnippet(w io.Writer, r *hcl.Range, lines [][]byte) {
	n := r.Start.Line
	if n < 1 || n > len(lines) {
		return
	}
	line := printable(lines[n-1])
	startCol := r.Start.Column
	end := r.End.Column
	if r.End.Line != n || end > len(line)+1 {
		end = len(line) + 1
	}
	if len(line) > maxSnippet {
		from := max(0, min(startCol-1-maxSnippet/3, len(line)-maxSnippet))
		line = "..." + line[from:min(from+maxSnippet, len(line))] + "..."
		startCol += 3 - from
		end = min(end+3-from, len(line)+1)
	}
	width := max(end-startCol, 1)
	gutter := fmt.Sprintf("%5d", n)
	fmt.Fprintf(w, "%s | %s\n", gutter, line)
	fmt.Fprintf(w, "%s | %s%s\n", strings.Repeat(" ", len(gutter)), strings.Repeat(" ", max(startCol-1, 0)), strings.Repeat("^", width))
}

// maxSnippet is the longest source line a snippet shows whole, in bytes.
const maxSnippet = 160

// printable returns line with tabs as spaces and every byte that is not
// printable ASCII or part of printable UTF-8 text as "?".
func printable(line []byte) string {
	var sb strings.Builder
	sb.Grow(len(line))
	for len(line) > 0 {
		r, size := utf8.DecodeRune(line)
		switch {
		case r == '\t':
			sb.WriteByte(' ')
		case r == utf8.RuneError && size <= 1, !unicode.IsPrint(r):
			sb.WriteString(strings.Repeat("?", size))
		default:
			sb.Write(line[:size])
		}
		line = line[size:]
	}
	return sb.String()
}
