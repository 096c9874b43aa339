package proc

import (
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"syscall"

	"github.com/hashicorp/nomad/helper/users"
)

// The executor starts a task with limits as "<this binary> cgexec JSON":
// that first process joins the task's cgroups, drops to the task's user
// and executes the command in its place (same pid). Joining from inside,
// before the command runs, puts every process of the tree in the cgroups
// with no window in which a child could start outside, and charges
// nothing of the executor to the task.

// cgexecArg is the first argument that makes a binary importing this
// package act as the cgroup-joining launcher.
const cgexecArg = "shard-cgexec"

// cgexecSpec is the launcher's JSON argument.
type cgexecSpec struct {
	// Join are the cgroup directories to join.
	Join []string `json:"join"`
	// User, when set, is who the command runs as.
	User string `json:"user,omitempty"`
	// Path is the command's absolute path; Args its arguments.
	Path string   `json:"path"`
	Args []string `json:"args"`
}

// exitCannotExec is the launcher's exit code when it cannot start the
// command, the shell's "found but not executable".
const exitCannotExec = 126

func init() {
	if len(os.Args) > 1 && os.Args[1] == cgexecArg {
		err := cgexec(os.Args[2:])
		fmt.Fprintf(os.Stderr, "nomad-driver-shard: %v\n", err)
		os.Exit(exitCannotExec)
	}
}

// cgexec joins the cgroups, drops privileges and executes the command; it
// returns only on failure.
func cgexec(args []string) error {
	if len(args) != 1 {
		return fmt.Errorf("%s: want one JSON argument, got %d", cgexecArg, len(args))
	}
	var spec cgexecSpec
	if err := json.Unmarshal([]byte(args[0]), &spec); err != nil {
		return fmt.Errorf("%s: %w", cgexecArg, err)
	}
	pid := strconv.Itoa(os.Getpid())
	for _, dir := range spec.Join {
		if err := os.WriteFile(filepath.Join(dir, "cgroup.procs"), []byte(pid), 0); err != nil {
			return fmt.Errorf("join cgroup %s: %w", dir, err)
		}
	}
	if spec.User != "" {
		if err := becomeUser(spec.User); err != nil {
			return err
		}
	}
	argv := append([]string{spec.Path}, spec.Args...)
	if err := syscall.Exec(spec.Path, argv, os.Environ()); err != nil {
		return fmt.Errorf("execute %s: %w", spec.Path, err)
	}
	return nil
}

// becomeUser switches the process to name's uid, gid and groups, as the
// executor does for a task user (setCmdUser).
func becomeUser(name string) error {
	u, err := users.Lookup(name)
	if err != nil {
		return fmt.Errorf("look up user %q: %w", name, err)
	}
	uid, err := strconv.Atoi(u.Uid)
	if err != nil {
		return fmt.Errorf("user %q: uid %q: %w", name, u.Uid, err)
	}
	gid, err := strconv.Atoi(u.Gid)
	if err != nil {
		return fmt.Errorf("user %q: gid %q: %w", name, u.Gid, err)
	}
	gids := []int{gid}
	if ids, err := u.GroupIds(); err == nil {
		for _, s := range ids {
			if g, err := strconv.Atoi(s); err == nil && g != gid {
				gids = append(gids, g)
			}
		}
	}
	if err := syscall.Setgroups(gids); err != nil {
		return fmt.Errorf("set groups of %q: %w", name, err)
	}
	if err := syscall.Setgid(gid); err != nil {
		return fmt.Errorf("set gid of %q: %w", name, err)
	}
	if err := syscall.Setuid(uid); err != nil {
		return fmt.Errorf("set uid of %q: %w", name, err)
	}
	return nil
}

// lookupBin finds bin as Nomad v1.6.1's executor does (lookupBin in
// drivers/shared/executor): taskDir/local/bin, taskDir/bin, an absolute
// path, then $PATH; and makes it executable, as the executor does.
func lookupBin(taskDir, bin string) (string, error) {
	path := ""
	for _, p := range []string{filepath.Join(taskDir, "local", bin), filepath.Join(taskDir, bin)} {
		if _, err := os.Stat(p); err == nil {
			path = p
			break
		}
	}
	if path == "" {
		if _, err := os.Stat(bin); err == nil && filepath.IsAbs(bin) {
			path = bin
		} else if host, err := exec.LookPath(bin); err == nil {
			path = host
		}
	}
	if path == "" {
		return "", fmt.Errorf("binary %q could not be found", bin)
	}
	abs, err := filepath.Abs(path)
	if err != nil {
		return "", err
	}
	fi, err := os.Stat(abs)
	if err != nil {
		return "", fmt.Errorf("binary %q: %w", bin, err)
	}
	if mode := fi.Mode(); mode&0o111 != 0o111 {
		if err := os.Chmod(abs, mode|0o111); err != nil {
			return "", fmt.Errorf("make %s executable: %w", abs, err)
		}
	}
	return abs, nil
}
