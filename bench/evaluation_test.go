package bench

import (
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/shardwise/shardwise/planner/catalog"
)

// TestTracePathsAndNames: TracePaths lists a folder's traces and its
// subfolders' (one level), sorted; LoadTraces names a trace outside the
// first path's folder "folder/name"; an empty folder and a trace that
// does not import are errors naming the folder or the file.
func TestTracePathsAndNames(t *testing.T) {
	src, err := os.ReadFile(filepath.Join("..", "translator", "wfcommons", "testdata", "tiny-nextflow.json"))
	if err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	for _, p := range []string{"b.json", "sub/a.json", "sub/deeper/c.json", "notes.txt"} {
		if err := os.MkdirAll(filepath.Join(dir, filepath.Dir(p)), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(filepath.Join(dir, p), src, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	paths, err := TracePaths(dir)
	if err != nil {
		t.Fatal(err)
	}
	want := []string{filepath.Join(dir, "b.json"), filepath.Join(dir, "sub", "a.json")}
	if !slices.Equal(paths, want) {
		t.Fatalf("TracePaths = %v, want %v", paths, want)
	}
	ins, err := LoadTraces(paths, catalog.Default())
	if err != nil {
		t.Fatal(err)
	}
	if len(ins) != 2 || ins[0].Name != "b" || ins[1].Name != "sub/a" {
		t.Errorf("names %q and %q: want b and sub/a", ins[0].Name, ins[1].Name)
	}
	empty := t.TempDir()
	if _, err := TracePaths(empty); err == nil || !strings.Contains(err.Error(), empty) {
		t.Errorf("empty folder: err %v, want one naming %s", err, empty)
	}
	bad := filepath.Join("..", "translator", "wfcommons", "testdata", "bad-cycle.json")
	if _, err := LoadTraces([]string{paths[0], bad}, catalog.Default()); err == nil || !strings.Contains(err.Error(), "bad-cycle.json") {
		t.Errorf("bad trace: err %v, want one naming bad-cycle.json", err)
	}
}

// TestDistinctTracesUsesItsCatalog: DistinctTraces imports the traces for
// the catalog it is given (their tables have its classes, in its order),
// not for the default one.
func TestDistinctTracesUsesItsCatalog(t *testing.T) {
	src, err := os.ReadFile(filepath.Join("..", "translator", "wfcommons", "testdata", "tiny-nextflow.json"))
	if err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	if err := os.WriteFile(filepath.Join(dir, "a.json"), src, 0o644); err != nil {
		t.Fatal(err)
	}
	cat := &catalog.Catalog{Classes: []*catalog.Class{catalog.Default().Classes[1], catalog.Default().Classes[0]}}
	ins, err := DistinctTraces(dir, cat)
	if err != nil {
		t.Fatal(err)
	}
	if len(ins) != 1 {
		t.Fatalf("%d inputs, want 1", len(ins))
	}
	if got, want := ins[0].Table.Classes, cat.Names(); !slices.Equal(got, want) {
		t.Errorf("table classes %v, want the given catalog's %v", got, want)
	}
}
