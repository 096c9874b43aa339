package sdk

import (
	"bufio"
	"bytes"
	"fmt"
	"math"
	"strconv"
	"strings"
)

// Per-task times of a fused shard. A fused shard runs its tasks one after
// the other in one script (translator/nomadjob Script), so Nomad sees one
// task and one runtime. The script also writes, into its allocation
// directory, the wall-clock time at each boundary between its tasks; the
// launcher reads the file through Nomad's client file system API once the
// allocation completed, and the re-planner learns from each task's own
// runtime instead of the shard's (predict.Correction); the feedback
// service writes one history record per task from it and the job's
// MetaTasks. The simulator gives its Binder the same per-task runtimes for
// the same shards (TimesTasks).
//
// The file holds len(tasks)+1 lines "K SECONDS": K counts the tasks
// finished (0 before the first task starts, len(tasks) after the last
// one ends) and SECONDS is the Unix time, as `date +%s.%N` prints it (a
// date without %N prints whole seconds, too coarse for tasks of about a
// second: such a file is not used). Task k ran from line k to line
// k+1. The script starts the file afresh (a restarted task rewrites it)
// and never fails because of it: a file it cannot write is left out.
const (
	// TaskTimesFile is the file's name in the allocation directory
	// (NOMAD_ALLOC_DIR).
	TaskTimesFile = "shardwise-task-times"
	// TaskTimesPath is its path for Nomad's client file system API
	// (/v1/client/fs/cat/:alloc_id?path=...).
	TaskTimesPath = "alloc/" + TaskTimesFile
	// MaxTimedTasks is the most tasks a fused shard times one by one:
	// each boundary costs the script a fork of date (about a
	// millisecond), which a long chain of tiny tasks would feel.
	MaxTimedTasks = 64
)

// TimesTasks reports whether the script of a shard running n tasks
// records their times: a fused shard (n > 1; a split piece runs one task)
// of at most MaxTimedTasks tasks.
func TimesTasks(n int) bool { return n > 1 && n <= MaxTimedTasks }

// ParseTaskTimes returns the runtime in seconds of each of the n tasks
// whose boundaries data (the TaskTimesFile) records, in run order. It
// returns an error when data does not hold exactly the n+1 boundaries
// 0..n in order with non-decreasing times (a script that stopped early,
// a date without %s, a clock stepped back): the caller then has the
// shard's one runtime only.
func ParseTaskTimes(data []byte, n int) ([]float64, error) {
	at, err := ParseTaskBoundaries(data, n)
	if err != nil {
		return nil, err
	}
	out := make([]float64, n)
	for k := range out {
		out[k] = at[k+1] - at[k]
	}
	return out, nil
}

// ParseTaskBoundaries returns the n+1 boundaries data records, in Unix
// seconds: task k of the n ran from element k to element k+1. Its errors
// are ParseTaskTimes'.
func ParseTaskBoundaries(data []byte, n int) ([]float64, error) {
	if n < 1 {
		return nil, fmt.Errorf("task times: %d tasks", n)
	}
	at := make([]float64, 0, n+1)
	sc := bufio.NewScanner(bytes.NewReader(data))
	for sc.Scan() {
		line := strings.TrimSpace(sc.Text())
		if line == "" {
			continue
		}
		k, secs, ok := strings.Cut(line, " ")
		if !ok || k != strconv.Itoa(len(at)) || len(at) > n {
			return nil, fmt.Errorf("task times: line %d: %q, want boundary %d of %d", len(at)+1, line, len(at), n)
		}
		t, frac, err := parseUnixSeconds(strings.TrimSpace(secs))
		if err != nil {
			return nil, fmt.Errorf("task times: line %d: %w", len(at)+1, err)
		}
		if !frac {
			return nil, fmt.Errorf("task times: line %d: %q has whole seconds only (date without %%N)", len(at)+1, secs)
		}
		if len(at) > 0 && t < at[len(at)-1] {
			return nil, fmt.Errorf("task times: line %d: time %v before the previous boundary's %v", len(at)+1, t, at[len(at)-1])
		}
		at = append(at, t)
	}
	if err := sc.Err(); err != nil {
		return nil, fmt.Errorf("task times: %w", err)
	}
	if len(at) != n+1 {
		return nil, fmt.Errorf("task times: %d boundaries, want %d", len(at), n+1)
	}
	return at, nil
}

// parseUnixSeconds parses "SECONDS[.FRACTION]"; frac reports whether a
// fraction of digits was there (a date without %N prints "SECONDS.%N",
// "SECONDS.N" or "SECONDS": whole seconds).
func parseUnixSeconds(s string) (t float64, frac bool, err error) {
	whole, fr, _ := strings.Cut(s, ".")
	w, err := strconv.ParseUint(whole, 10, 63)
	if err != nil || whole == "" {
		return 0, false, fmt.Errorf("time %q is not Unix seconds", s)
	}
	t = float64(w)
	if fr != "" && strings.Trim(fr, "0123456789") == "" {
		f, err := strconv.ParseFloat("0."+fr, 64)
		if err != nil {
			return 0, false, fmt.Errorf("time %q: %w", s, err)
		}
		t, frac = t+f, true
	}
	if math.IsInf(t, 0) {
		return 0, false, fmt.Errorf("time %q out of range", s)
	}
	return t, frac, nil
}
