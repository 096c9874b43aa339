package main

import (
	"flag"
	"fmt"
	"io"
	"os"
	"strings"
)

// multiFlag collects a repeatable string flag (-var, -var-file).
type multiFlag []string

func (m *multiFlag) String() string     { return strings.Join(*m, ",") }
func (m *multiFlag) Set(v string) error { *m = append(*m, v); return nil }

// graphFlags choose a graph's variables, history and catalog: the inputs
// of plan, run and simulate.
type graphFlags struct {
	vars, varFiles, histories multiFlag
	catalog                   string
}

// register adds the graph input flags to fs.
func (g *graphFlags) register(fs *flag.FlagSet) {
	fs.Var(&g.vars, "var", "Set a graph variable, NAME=VALUE (repeatable).")
	fs.Var(&g.varFiles, "var-file", "Read graph variables from a file of NAME = VALUE lines, or a JSON object in a .json file (repeatable).")
	fs.Var(&g.histories, "history", "Read history records from a JSON Lines file or a SQLite history store, .db (repeatable).")
	fs.StringVar(&g.catalog, "catalog", os.Getenv("SHARDWISE_CATALOG"), "Executor catalog HCL file that overrides or extends the default (SHARDWISE_CATALOG).")
}

// newFlagSet returns a flag set that reports errors instead of exiting, and
// prints help in Nomad's style.
func newFlagSet(name, synopsis string, stderr io.Writer) *flag.FlagSet {
	fs := flag.NewFlagSet(name, flag.ContinueOnError)
	fs.SetOutput(stderr)
	fs.Usage = func() {
		fmt.Fprintf(stderr, "Usage: shardwise %s\n\nOptions:\n", synopsis)
		fs.PrintDefaults()
	}
	return fs
}

// parseFlags parses args; -h is not an error, other flag errors are usage
// errors. The flag package would print a flag error itself and main would
// print it again, so the package's output is held back: the error is
// printed once, "Error: ...", followed by the usage.
func parseFlags(fs *flag.FlagSet, args []string) (help bool, err error) {
	out, usage := fs.Output(), fs.Usage
	fs.SetOutput(io.Discard)
	fs.Usage = func() {}
	err = fs.Parse(args)
	fs.SetOutput(out)
	fs.Usage = usage
	switch {
	case err == nil:
		if err := flagAfterArgs(fs, args); err != nil {
			fmt.Fprintf(out, "Error: %s\n\n", err)
			fs.Usage()
			return false, &usageError{msg: err.Error(), printed: true}
		}
		return false, nil
	case err == flag.ErrHelp:
		fs.Usage()
		return true, nil
	}
	fmt.Fprintf(out, "Error: %s\n\n", err)
	fs.Usage()
	return false, &usageError{msg: err.Error(), printed: true}
}

// flagAfterArgs returns an error naming an option of fs given after the
// first argument, which Go's flag package (like the Nomad CLI) would take
// as one more argument: "plan GRAPH -out DIR" is an error that says so,
// not "takes exactly one argument". After "--" anything is an argument.
func flagAfterArgs(fs *flag.FlagSet, args []string) error {
	rest := fs.Args()
	if len(rest) < 2 || len(args) > len(rest) && args[len(args)-len(rest)-1] == "--" {
		return nil
	}
	for _, a := range rest[1:] {
		name, _, _ := strings.Cut(strings.TrimLeft(a, "-"), "=")
		if strings.HasPrefix(a, "-") && fs.Lookup(name) != nil {
			return fmt.Errorf("option %s comes after the argument %q: options go before the arguments", a, rest[0])
		}
	}
	return nil
}

// parseVars splits -var NAME=VALUE flags into a map, rejecting malformed ones.
func parseVars(vars []string) (map[string]string, error) {
	out := make(map[string]string, len(vars))
	for _, v := range vars {
		name, value, ok := strings.Cut(v, "=")
		name = strings.TrimSpace(name)
		if !ok || name == "" {
			return nil, &usageError{msg: fmt.Sprintf("invalid -var %q: want NAME=VALUE", v)}
		}
		out[name] = value
	}
	return out, nil
}

// flagSet reports whether the command line set flag name (a default from
// the environment does not count).
func flagSet(fs *flag.FlagSet, name string) bool {
	set := false
	fs.Visit(func(fl *flag.Flag) { set = set || fl.Name == name })
	return set
}

// envCatalog returns an error when -catalog was not given but
// SHARDWISE_CATALOG names a file that cannot be read: the catalog's own
// error would name a file the command line does not show. Commands call
// it only where they load the catalog.
func envCatalog(fs *flag.FlagSet) error {
	fl := fs.Lookup("catalog")
	if fl == nil || fl.Value.String() == "" || flagSet(fs, "catalog") {
		return nil
	}
	if _, err := os.Stat(fl.Value.String()); err != nil {
		return fmt.Errorf("SHARDWISE_CATALOG names an executor catalog that cannot be read (unset it or give -catalog): %w", err)
	}
	return nil
}
