package catalog

import (
	"flag"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"

	"github.com/shardwise/shardwise/planner/graph"
)

var updateDocs = flag.Bool("update", false, "rewrite docs/catalog.md's default catalog table")

// docPath is the catalog's documentation, whose table of the default
// catalog TestDocsCatalogTable keeps in step with default.hcl.
var docPath = filepath.Join("..", "..", "docs", "catalog.md")

// TestDocsCatalogTable checks that docs/catalog.md's table of the default
// catalog is the one generated from default.hcl (markdownTable); with
// -update it rewrites the table instead.
func TestDocsCatalogTable(t *testing.T) {
	doc, err := os.ReadFile(docPath)
	if err != nil {
		t.Fatal(err)
	}
	want := markdownTable(Default())
	lines := strings.SplitAfter(string(doc), "\n")
	start := -1
	for i, l := range lines {
		if strings.HasPrefix(l, "| class |") {
			start = i
			break
		}
	}
	if start < 0 {
		t.Fatalf("%s has no table starting with \"| class |\"", docPath)
	}
	end := start
	for end < len(lines) && strings.HasPrefix(lines[end], "|") {
		end++
	}
	got := strings.Join(lines[start:end], "")
	if got == want {
		return
	}
	if *updateDocs {
		out := strings.Join(lines[:start], "") + want + strings.Join(lines[end:], "")
		if err := os.WriteFile(docPath, []byte(out), 0o644); err != nil {
			t.Fatal(err)
		}
		return
	}
	t.Errorf("%s's default catalog table differs from default.hcl; run go test ./planner/catalog -run TestDocsCatalogTable -update\n got:\n%s\nwant:\n%s", docPath, got, want)
}

// markdownTable prints the catalog as the Markdown table of docs/catalog.md.
func markdownTable(c *Catalog) string {
	var b strings.Builder
	b.WriteString("| class | node_class | instances | cpu (MHz) | cores | memory | disk | GPUs | speed cpu/mem/io/gpu/lat | bandwidth | startup | flags |\n")
	b.WriteString("|---|---|---|---|---|---|---|---|---|---|---|---|\n")
	for _, cl := range c.Classes {
		name := cl.Name
		if cl.Name == c.Reference {
			name += " (reference)"
		}
		var speeds []string
		for _, k := range graph.Kinds {
			v, ok := cl.Speed[k]
			if !ok {
				v = 1 // as SpeedFor; a written 0 is kept
			}
			speeds = append(speeds, docSpeed(v))
		}
		var flags []string
		if cl.Oversubscribe {
			flags = append(flags, "oversubscribe")
		}
		if cl.Service {
			flags = append(flags, "service")
		}
		fmt.Fprintf(&b, "| %s | %s | %d | %d | %d | %s | %s | %s | %s | %s GB/s | %s |%s|\n",
			name, cl.Placement.NodeClass, cl.Instances, cl.Shape.CPU, cl.Shape.Cores, docMiB(cl.Shape.MemoryMiB),
			docMiB(cl.Shape.DiskMiB), docGPUs(cl), strings.Join(speeds, " / "),
			strconv.FormatFloat(cl.BandwidthBytes/1e9, 'f', -1, 64), cl.Startup, cell(strings.Join(flags, ", ")))
	}
	return b.String()
}

// docSpeed prints a speed with one decimal at least, and 0 as "0".
func docSpeed(v float64) string {
	if v == 0 {
		return "0"
	}
	s := strconv.FormatFloat(v, 'f', -1, 64)
	if !strings.Contains(s, ".") {
		s += ".0"
	}
	return s
}

// docMiB prints MiB in the largest binary unit that divides it.
func docMiB(mib int64) string {
	switch {
	case mib != 0 && mib%(1<<20) == 0:
		return fmt.Sprintf("%d TiB", mib>>20)
	case mib != 0 && mib%(1<<10) == 0:
		return fmt.Sprintf("%d GiB", mib>>10)
	}
	return fmt.Sprintf("%d MiB", mib)
}

// docGPUs is the GPUs cell: 0, or count, memory and device request.
func docGPUs(cl *Class) string {
	if cl.Shape.GPUs == 0 {
		return "0"
	}
	s := fmt.Sprintf("%d x %s", cl.Shape.GPUs, docMiB(cl.Shape.GPUMemoryMiB))
	if d := cl.Placement.Device; d != nil {
		s += fmt.Sprintf(", device `%s`", d.Name)
		for i, con := range d.Constraints {
			sep := " with "
			if i > 0 {
				sep = ", "
			}
			s += fmt.Sprintf("%s`%s %s %s`", sep, con.Attribute, con.Operator, con.Value)
		}
	}
	return s
}

// cell pads a table cell's text with spaces; an empty cell stays "||".
func cell(s string) string {
	if s == "" {
		return " "
	}
	return " " + s + " "
}
