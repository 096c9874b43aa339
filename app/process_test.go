package app

import (
	"go/ast"
	"go/parser"
	"go/token"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strconv"
	"strings"
	"testing"
)

// processOwned are the calls and variables that belong to a command's
// main (docs: "cmd/ only parses flags, calls one function and prints"): a
// library that exits the process or writes to its stdout or stderr takes
// that decision from every program that imports it.
var processOwned = map[string][]string{
	"os":  {"Exit", "Stdout", "Stderr"},
	"fmt": {"Print", "Printf", "Println"},
	"log": {"Fatal", "Fatalf", "Fatalln", "Print", "Printf", "Println", "Panic", "Panicf", "Panicln"},
}

// processAllowed are the library files that may use them, and why.
var processAllowed = map[string]string{
	// The executor re-executes the plugin binary as "shard-cgexec JSON"
	// (as Nomad's executor package does with its init): that process is
	// this init, which must exit with the shell's code when exec fails.
	"driver/proc/cgexec.go": "re-exec entry point run from init",
	// The e2e harness's progress lines under go test -v.
	"e2e/cluster/testing.go": "test harness output under go test -v",
}

// TestLibrariesLeaveTheProcessToMain: no package but a main (and tests)
// exits the process or prints to stdout or stderr, outside
// processAllowed.
func TestLibrariesLeaveTheProcessToMain(t *testing.T) {
	_, file, _, _ := runtime.Caller(0)
	root := filepath.Join(filepath.Dir(file), "..")
	cmd := exec.Command("go", "list", "-f", "{{.Name}}\t{{.Dir}}\t{{join .GoFiles \" \"}}", "./...")
	cmd.Dir = root
	out, err := cmd.Output()
	if err != nil {
		t.Fatalf("go list ./...: %v", err)
	}
	checked := 0
	for _, line := range strings.Split(strings.TrimSpace(string(out)), "\n") {
		parts := strings.Split(line, "\t")
		if len(parts) != 3 || parts[0] == "main" || parts[2] == "" {
			continue
		}
		for _, name := range strings.Fields(parts[2]) {
			path := filepath.Join(parts[1], name)
			rel, _ := filepath.Rel(root, path)
			if _, ok := processAllowed[filepath.ToSlash(rel)]; ok {
				continue
			}
			uses, err := processUses(path)
			if err != nil {
				t.Fatal(err)
			}
			checked++
			for _, u := range uses {
				t.Errorf("%s: library code uses %s: return an error or take an io.Writer, and leave the process to main", u.pos, u.name)
			}
		}
	}
	if checked == 0 {
		t.Fatal("no library file checked")
	}
}

type processUse struct {
	pos  token.Position
	name string
}

// processUses returns the uses of processOwned names in the Go file at
// path, through whatever names the file imports os, fmt and log as.
func processUses(path string) ([]processUse, error) {
	fset := token.NewFileSet()
	f, err := parser.ParseFile(fset, path, nil, parser.SkipObjectResolution)
	if err != nil {
		return nil, err
	}
	local := map[string]string{} // local name -> import path
	for _, imp := range f.Imports {
		p, _ := strconv.Unquote(imp.Path.Value)
		if _, ok := processOwned[p]; !ok {
			continue
		}
		name := p
		if imp.Name != nil {
			name = imp.Name.Name
		}
		local[name] = p
	}
	var uses []processUse
	ast.Inspect(f, func(n ast.Node) bool {
		sel, ok := n.(*ast.SelectorExpr)
		if !ok {
			return true
		}
		x, ok := sel.X.(*ast.Ident)
		if !ok {
			return true
		}
		p, ok := local[x.Name]
		if !ok {
			return true
		}
		for _, s := range processOwned[p] {
			if sel.Sel.Name == s {
				uses = append(uses, processUse{fset.Position(sel.Pos()), p + "." + s})
			}
		}
		return true
	})
	return uses, nil
}

// TestProcessUses makes sure the check sees a use through a renamed
// import and ignores a local variable that only shares the package's
// name.
func TestProcessUses(t *testing.T) {
	dir := t.TempDir()
	src := `package x

import (
	stdos "os"
	"fmt"
)

func f() {
	stdos.Exit(1)
	fmt.Fprintln(stdos.Stderr, "x")
	fmt.Sprintf("fine")
	var os struct{ Exit int }
	_ = os.Exit
}
`
	path := filepath.Join(dir, "x.go")
	if err := os.WriteFile(path, []byte(src), 0o644); err != nil {
		t.Fatal(err)
	}
	uses, err := processUses(path)
	if err != nil {
		t.Fatal(err)
	}
	var got []string
	for _, u := range uses {
		got = append(got, u.name)
	}
	if strings.Join(got, " ") != "os.Exit os.Stderr" {
		t.Errorf("uses = %v, want os.Exit os.Stderr", got)
	}
}
