package main

import (
	"bytes"
	"fmt"
	"io"
	"os"
	"strings"

	"github.com/hashicorp/hcl/v2"
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
func printDiags(w io.Writer, diags hcl.Diagnostics) {
	sources := map[string][][]byte{}
	for _, d := range diags {
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
// subject's columns (to the end of the line when it spans several).
func writeSnippet(w io.Writer, r *hcl.Range, lines [][]byte) {
	n := r.Start.Line
	if n < 1 || n > len(lines) {
		return
	}
	line := strings.ReplaceAll(string(lines[n-1]), "\t", " ")
	end := r.End.Column
	if r.End.Line != n || end > len(line)+1 {
		end = len(line) + 1
	}
	width := max(end-r.Start.Column, 1)
	gutter := fmt.Sprintf("%5d", n)
	fmt.Fprintf(w, "%s | %s\n", gutter, line)
	fmt.Fprintf(w, "%s | %s%s\n", strings.Repeat(" ", len(gutter)), strings.Repeat(" ", max(r.Start.Column-1, 0)), strings.Repeat("^", width))
}
