// Command devcluster runs the local e2e cluster (package e2e/cluster) by
// hand: one Consul agent, one Nomad server and one Nomad client per
// default executor class, built from .bin by `make agents`.
//
// Usage:
//
//	devcluster [-dir DIR] [-keep] [-timeout 2m]               # until Ctrl-C
//	devcluster [-dir DIR] [-keep] [-timeout 2m] -- CMD ARGS... # run CMD, then stop
//	devcluster -capacity [-catalog FILE] ...                    # each class its catalog's instances
//
// Once the cluster is ready it prints shell exports for NOMAD_ADDR and
// CONSUL_HTTP_ADDR on stdout (progress goes to stderr). Without a command
// it waits for SIGINT or SIGTERM; with one it runs CMD with those
// variables set, tears the cluster down and exits with CMD's status. This
// is the hook `make demo` uses to run an example through `shardwise run`.
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"os"
	"os/exec"
	"os/signal"
	"sort"
	"syscall"
	"time"

	"github.com/shardwise/shardwise/e2e/cluster"
	"github.com/shardwise/shardwise/planner/catalog"
)

func main() {
	os.Exit(run())
}

func run() int {
	dir := flag.String("dir", "", "parent of the run directory (default: the system temp dir)")
	keep := flag.Bool("keep", false, "keep the run directory (configs, data, logs) on exit")
	timeout := flag.Duration("timeout", cluster.DefaultStartTimeout, "how long to wait for the cluster to become ready")
	capacity := flag.Bool("capacity", false, "give every class its catalog's instances (cluster.CapacityClasses: several clients per class) instead of one client per class")
	catalogPath := flag.String("catalog", os.Getenv("SHARDWISE_CATALOG"), "executor catalog HCL file over the default (with -capacity)")
	flag.Usage = func() {
		fmt.Fprintf(flag.CommandLine.Output(), "usage: devcluster [flags] [-- command args...]\n")
		flag.PrintDefaults()
	}
	flag.Parse()

	logf := func(format string, args ...any) { fmt.Fprintf(os.Stderr, format+"\n", args...) }
	ctx, cancel := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer cancel()
	startCtx, cancelStart := context.WithTimeout(ctx, *timeout)
	opts := cluster.Options{Dir: *dir, KeepDir: *keep, Logf: logf}
	if *capacity {
		cat, diags := catalog.Load(*catalogPath)
		if diags.HasErrors() {
			cancelStart()
			logf("devcluster: %v", diags)
			return 1
		}
		opts.Classes = cluster.CapacityClasses(cat, 0)
	}
	c, err := cluster.Start(startCtx, opts)
	cancelStart()
	if err != nil {
		logf("devcluster: %v", err)
		return 1
	}
	code := serve(ctx, c, flag.Args(), logf)
	if err := c.Close(); err != nil {
		logf("devcluster: %v", err)
		code = max(code, 1)
	}
	return code
}

// serve prints the exports, then runs args (if any) or waits for ctx.
func serve(ctx context.Context, c *cluster.Cluster, args []string, logf func(string, ...any)) int {
	fmt.Printf("export NOMAD_ADDR=%s\nexport CONSUL_HTTP_ADDR=%s\n", c.NomadAddr(), c.ConsulAddr())
	printNodes(c, logf)
	logf("run dir: %s", c.Dir())
	if len(args) == 0 {
		logf("cluster is up; press Ctrl-C to stop it")
		<-ctx.Done()
		logf("stopping")
		return 0
	}
	return runCommand(ctx, c, args, logf)
}

func printNodes(c *cluster.Cluster, logf func(string, ...any)) {
	nodes := c.Nodes()
	classes := make([]string, 0, len(nodes))
	for k := range nodes {
		classes = append(classes, k)
	}
	sort.Strings(classes)
	for _, k := range classes {
		logf("node %-18s %s", k, nodes[k])
	}
}

// runCommand runs args with the cluster's addresses in its environment
// and returns its exit status. Ctrl-C reaches it through the terminal's
// process group; ctx's end (SIGTERM) interrupts it.
func runCommand(ctx context.Context, c *cluster.Cluster, args []string, logf func(string, ...any)) int {
	cmd := exec.CommandContext(ctx, args[0], args[1:]...)
	cmd.Cancel = func() error { return cmd.Process.Signal(os.Interrupt) }
	cmd.WaitDelay = 10 * time.Second
	cmd.Env = append(os.Environ(), "NOMAD_ADDR="+c.NomadAddr(), "CONSUL_HTTP_ADDR="+c.ConsulAddr())
	cmd.Stdin, cmd.Stdout, cmd.Stderr = os.Stdin, os.Stdout, os.Stderr
	err := cmd.Run()
	var exit *exec.ExitError
	switch {
	case err == nil:
		return 0
	case errors.As(err, &exit) && exit.ExitCode() >= 0:
		return exit.ExitCode()
	default:
		logf("devcluster: %s: %v", args[0], err)
		return 1
	}
}
