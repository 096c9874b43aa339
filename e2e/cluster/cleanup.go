package cluster

import (
	"bufio"
	"bytes"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"time"
)

// leftoverTimeout bounds the wait for killed leftover processes to go.
const leftoverTimeout = 10 * time.Second

// Close stops every agent (clients first, then the server, then Consul:
// SIGINT, killed after 20 s), kills every process the agents left behind
// (raw_exec executors and tasks, plugins of a killed client), unmounts the
// tmpfs mounts Nomad made under allocation directories, removes the
// clients' cgroups and removes the run directory (unless Options.KeepDir).
// It is idempotent; later calls return the first call's error.
func (c *Cluster) Close() error {
	c.closeOnce.Do(func() {
		began := time.Now()
		c.closeErr = c.teardown()
		c.opts.Logf("cluster: closed in %s", time.Since(began).Round(time.Millisecond))
	})
	return c.closeErr
}

func (c *Cluster) teardown() error {
	c.stopAgents()
	cgroups, err := killLeftovers(string(c.dir), leftoverTimeout)
	errs := []error{err, unmountUnder(string(c.dir)), c.removeCgroups(cgroups)}
	if !c.opts.KeepDir {
		if err := os.RemoveAll(string(c.dir)); err != nil {
			errs = append(errs, fmt.Errorf("remove run dir: %w", err))
		}
	}
	if err := errors.Join(errs...); err != nil {
		return fmt.Errorf("cluster: close %s: %w", c.dir, err)
	}
	return nil
}

// stopAgents stops the clients concurrently, then the server, then
// Consul. An agent that needs killing is logged, not an error: Close's
// job is to leave nothing running, which the kill achieves.
func (c *Cluster) stopAgents() {
	var wg sync.WaitGroup
	for _, cl := range c.classes {
		a := c.clients[cl.Name]
		wg.Go(func() { c.stopLogged(a) })
	}
	wg.Wait()
	c.stopLogged(c.server)
	c.stopLogged(c.consul)
}

func (c *Cluster) stopLogged(a *agent) {
	if err := a.stop(syscall.SIGINT, stopGrace); err != nil {
		c.opts.Logf("cluster: %v", err)
	}
}

// killLeftovers SIGKILLs every process (but this one) whose environment
// carries this run's marker or whose working directory lies in the run
// directory, until none is left or timeout passes. It returns the cgroup
// directories those processes were in (raw_exec puts each task in a
// freezer cgroup that its killed executor cannot remove).
func killLeftovers(runDir string, timeout time.Duration) ([]string, error) {
	deadline := time.Now().Add(timeout)
	seen := map[string]bool{}
	for {
		pids := leftoverPids(runDir)
		if len(pids) == 0 {
			return sortedKeys(seen), nil
		}
		if time.Now().After(deadline) {
			return sortedKeys(seen), fmt.Errorf("processes still running after SIGKILL: %v", pids)
		}
		for _, pid := range pids {
			for _, cg := range procCgroups(pid) {
				seen[cg] = true
			}
			_ = syscall.Kill(pid, syscall.SIGKILL) // it may have exited already
		}
		time.Sleep(50 * time.Millisecond) // nothing to wait on but /proc
	}
}

func sortedKeys(m map[string]bool) []string {
	out := make([]string, 0, len(m))
	for k := range m {
		out = append(out, k)
	}
	sort.Strings(out)
	return out
}

// procCgroups returns the cgroup directories of process pid below a Nomad
// parent ("/nomad/..." or a cluster's "/shardwise-..."), as paths under
// /sys/fs/cgroup.
func procCgroups(pid int) []string {
	data, err := os.ReadFile("/proc/" + strconv.Itoa(pid) + "/cgroup")
	if err != nil {
		return nil
	}
	return parseProcCgroups(string(data))
}

// parseProcCgroups parses /proc/PID/cgroup ("ID:controllers:/path" lines).
func parseProcCgroups(data string) []string {
	var out []string
	for _, line := range strings.Split(data, "\n") {
		parts := strings.SplitN(line, ":", 3)
		if len(parts) != 3 || !(strings.HasPrefix(parts[2], "/nomad/") || strings.HasPrefix(parts[2], "/shardwise-")) {
			continue
		}
		hierarchy := strings.TrimPrefix(parts[1], "name=")
		if hierarchy == "" { // cgroup v2
			out = append(out, filepath.Join("/sys/fs/cgroup", parts[2]), filepath.Join("/sys/fs/cgroup/unified", parts[2]))
			continue
		}
		out = append(out, filepath.Join("/sys/fs/cgroup", hierarchy, parts[2]))
	}
	return out
}

// leftoverPids lists live processes that belong to the run.
func leftoverPids(runDir string) []int {
	entries, err := os.ReadDir("/proc")
	if err != nil {
		return nil
	}
	marker := []byte(markerEnv + "=" + runDir + "\x00")
	self := os.Getpid()
	var pids []int
	for _, e := range entries {
		pid, err := strconv.Atoi(e.Name())
		if err != nil || pid == self {
			continue
		}
		if belongsToRun(pid, runDir, marker) {
			pids = append(pids, pid)
		}
	}
	return pids
}

// belongsToRun reports whether process pid carries the marker or works
// in the run directory. Zombies have neither, so they are not counted.
func belongsToRun(pid int, runDir string, marker []byte) bool {
	proc := "/proc/" + strconv.Itoa(pid)
	if env, err := os.ReadFile(proc + "/environ"); err == nil && bytes.Contains(append([]byte{0}, env...), append([]byte{0}, marker...)) {
		return true
	}
	cwd, err := os.Readlink(proc + "/cwd")
	return err == nil && (cwd == runDir || strings.HasPrefix(cwd, runDir+"/"))
}

// unmountUnder unmounts every mount point below dir, deepest first
// (Nomad's secrets and private tmpfs under alloc dirs), lazily when busy.
func unmountUnder(dir string) error {
	points, err := mountsUnder("/proc/self/mountinfo", dir)
	if err != nil {
		return err
	}
	var errs []error
	for _, p := range points {
		if err := syscall.Unmount(p, 0); err != nil && !errors.Is(err, syscall.EINVAL) {
			if err := syscall.Unmount(p, syscall.MNT_DETACH); err != nil {
				errs = append(errs, fmt.Errorf("unmount %s: %w", p, err))
			}
		}
	}
	return errors.Join(errs...)
}

// mountsUnder returns the mount points below dir listed in a mountinfo
// file, longest path first.
func mountsUnder(mountinfo, dir string) ([]string, error) {
	f, err := os.Open(mountinfo)
	if err != nil {
		return nil, fmt.Errorf("read mounts: %w", err)
	}
	defer f.Close()
	var points []string
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		fields := strings.Fields(sc.Text())
		if len(fields) < 5 {
			continue
		}
		p := unescapeMount(fields[4])
		if strings.HasPrefix(p, dir+"/") {
			points = append(points, p)
		}
	}
	if err := sc.Err(); err != nil {
		return nil, fmt.Errorf("read mounts: %w", err)
	}
	sort.Slice(points, func(i, j int) bool { return len(points[i]) > len(points[j]) })
	return points, nil
}

// unescapeMount undoes mountinfo's octal escapes (\040 for a space, ...).
func unescapeMount(s string) string {
	if !strings.Contains(s, `\`) {
		return s
	}
	var b strings.Builder
	for i := 0; i < len(s); i++ {
		if s[i] == '\\' && i+3 < len(s) {
			if v, err := strconv.ParseUint(s[i+1:i+4], 8, 8); err == nil {
				b.WriteByte(byte(v))
				i += 3
				continue
			}
		}
		b.WriteByte(s[i])
	}
	return b.String()
}

// removeCgroups removes the cgroup directories the clients created under
// their cgroup_parent in every cgroup v1 hierarchy (and the v2 root), and
// the task cgroups of killed leftovers, deepest first. Absent ones are
// fine; the kernel refuses to remove a cgroup that still has processes.
func (c *Cluster) removeCgroups(leftovers []string) error {
	var roots []string
	for _, cl := range c.classes {
		parent := c.cgroupParent(cl.Name)
		matches, _ := filepath.Glob(filepath.Join("/sys/fs/cgroup", "*", parent))
		roots = append(append(roots, matches...), filepath.Join("/sys/fs/cgroup", parent))
	}
	var errs []error
	for _, root := range append(roots, leftovers...) {
		if err := removeCgroupTree(root); err != nil {
			errs = append(errs, err)
		}
	}
	return errors.Join(errs...)
}

// removeCgroupTree rmdirs a cgroup and its children (cgroupfs refuses
// RemoveAll: files inside cannot be unlinked, only directories removed).
func removeCgroupTree(root string) error {
	var dirs []string
	err := filepath.WalkDir(root, func(p string, d os.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if d.IsDir() {
			dirs = append(dirs, p)
		}
		return nil
	})
	if errors.Is(err, os.ErrNotExist) {
		return nil
	}
	if err != nil {
		return fmt.Errorf("walk cgroup %s: %w", root, err)
	}
	for i := len(dirs) - 1; i >= 0; i-- {
		if err := syscall.Rmdir(dirs[i]); err != nil && !errors.Is(err, syscall.ENOENT) {
			return fmt.Errorf("remove cgroup %s: %w", dirs[i], err)
		}
	}
	return nil
}
