package wfcommons

import (
	"errors"
	"fmt"
	"math"
	"strconv"
	"strings"

	"github.com/shardwise/shardwise/planner/catalog"
	"github.com/shardwise/shardwise/planner/graph"
)

// Env keys of a replay task (see Replay).
const (
	// EnvReplaySeconds is the task's recorded runtime times the time
	// scale, in seconds: what it takes on a node of speed 1.
	EnvReplaySeconds = "SHARDWISE_REPLAY_SECONDS"
	// EnvReplaySpeeds is the speed table of the task's workload profile:
	// "<node class>=<speed> ..." separated by spaces, each speed relative
	// to the catalog's reference class.
	EnvReplaySpeeds = "SHARDWISE_REPLAY_SPEEDS"
	// EnvReplayNodeClass is "${node.class}", which Nomad interpolates into
	// the node class of the node the allocation landed on.
	EnvReplayNodeClass = "SHARDWISE_REPLAY_NODE_CLASS"
	// EnvReplayWrite lists "<path>=<bytes> ..." the task writes before it
	// waits out the rest of its time (Replay.Work "write").
	EnvReplayWrite = "SHARDWISE_REPLAY_WRITE"
)

// What a replay task does for its time (Replay.Work).
const (
	// WorkSleep sleeps.
	WorkSleep = "sleep"
	// WorkCPU keeps one core busy.
	WorkCPU = "cpu"
	// WorkWrite writes the task's outputs (sized as the trace says, times
	// the time scale) and sleeps the rest of its time.
	WorkWrite = "write"
)

// ErrNoRuntimes is returned by a replay import of a trace whose tasks
// recorded no runtime: there is nothing to replay.
var ErrNoRuntimes = errors.New("no task has a recorded runtime (runtimeInSeconds): nothing to replay")

// Replay makes the imported tasks emulate their recorded run on whatever
// node Nomad places them: each task's command takes its recorded runtime
// (times Options.TimeScale) divided by the speed of the node's class for
// the task's workload profile (its kind hint), read when the task starts.
// The planner sees only the runtime hints and the records; a placement on
// a slow class costs real time.
type Replay struct {
	// Catalog gives the speed of each node class for each profile,
	// relative to its reference class (the class the trace is read as
	// having run on). Required.
	Catalog *catalog.Catalog
	// Work is WorkSleep (default when empty), WorkCPU or WorkWrite.
	Work string
}

// replayScript is the start of every replay task's command: it looks the
// node's class up in the speed table and sets s to the scaled runtime
// divided by that speed (a class missing from the table counts as speed
// 1). Nomad interpolates "${...}" in task config at run time, so the
// scripts use no "${" (and no "%{").
const replayScript = `s=$(awk -v r="$` + EnvReplaySeconds + `" -v c="$` + EnvReplayNodeClass + `" -v t="$` + EnvReplaySpeeds + `" 'BEGIN {
  f = 1; n = split(t, p, " ")
  for (i = 1; i <= n; i++) { k = index(p[i], "="); if (substr(p[i], 1, k - 1) == c) f = substr(p[i], k + 1) + 0 }
  if (f <= 0) f = 1
  printf "%.3f", r / f
}')
`

// replaySays is the line every replay task prints before its work: the
// seconds it takes on its node's class, which a reader (or a test) can
// set against its recorded time and the class's speed.
const replaySays = `echo "replay: $s s on node class $` + EnvReplayNodeClass + `"` + "\n"

var replayWork = map[string]string{
	WorkSleep: replaySays + `exec sleep "$s"` + "\n",
	WorkCPU:   replaySays + `timeout "$s" sh -c 'while :; do :; done' || [ $? -eq 124 ]` + "\n",
	WorkWrite: replaySays + `t0=$(date +%s.%N)
for w in $` + EnvReplayWrite + `; do
  p=$(echo "$w" | sed 's/=[0-9]*$//'); n=$(echo "$w" | sed 's/.*=//')
  mkdir -p "$(dirname "$p")"
  head -c "$n" /dev/zero > "$p"
done
s=$(awk -v s="$s" -v t0="$t0" -v t1="$(date +%s.%N)" 'BEGIN { d = s - (t1 - t0); if (d < 0) d = 0; printf "%.3f", d }')
exec sleep "$s"
`,
}

// check validates r.
func (r *Replay) check() error {
	if r.Catalog == nil {
		return errors.New("replay: no catalog for the speed table")
	}
	if _, ok := replayWork[r.work()]; !ok {
		return fmt.Errorf("replay work %q: want %s, %s or %s", r.Work, WorkSleep, WorkCPU, WorkWrite)
	}
	return nil
}

func (r *Replay) work() string {
	if r.Work == "" {
		return WorkSleep
	}
	return r.Work
}

// speeds returns the speed table of profile k: every class's node class
// and its speed for k relative to the reference class, in catalog order.
func (r *Replay) speeds(k graph.Kind) string {
	ref := 1.0
	if rc := r.Catalog.ReferenceClass(); rc != nil {
		ref = rc.SpeedFor(k)
	}
	parts := make([]string, 0, len(r.Catalog.Classes))
	for _, cl := range r.Catalog.Classes {
		node := cl.Placement.NodeClass
		if node == "" {
			node = cl.Name
		}
		parts = append(parts, node+"="+strconv.FormatFloat(cl.SpeedFor(k)/ref, 'g', 6, 64))
	}
	return strings.Join(parts, " ")
}

// replayTask turns gt, built from trace task t, into a replay task: the
// replay script as its command, its time, speed table and node class in
// its env, and one whole core asked (the stand-in runs on one core, and a
// whole core is what the capacity cluster counts as one instance, see
// docs/e2e.md).
func (b *builder) replayTask(gt *graph.Task, t *task) {
	r := b.opts.Replay
	gt.Command = "/bin/sh"
	gt.Args = []string{"-c", replayScript + replayWork[r.work()]}
	gt.Env[EnvReplaySeconds] = b.sleepSeconds(t)
	gt.Env[EnvReplaySpeeds] = r.speeds(gt.Hints.Kind)
	gt.Env[EnvReplayNodeClass] = "${node.class}"
	gt.Hints.Cores = 1
	if r.work() == WorkWrite {
		var w []string
		for _, o := range gt.Outputs {
			n := int64(math.Round(float64(o.Bytes) * b.opts.TimeScale))
			w = append(w, o.Path+"="+strconv.FormatInt(n, 10))
		}
		if len(w) > 0 {
			gt.Env[EnvReplayWrite] = strings.Join(w, " ")
		}
	}
}

// hasRuntimes reports whether some task recorded a positive runtime.
func (tr *trace) hasRuntimes() bool {
	for _, t := range tr.tasks {
		if t.exec != nil && t.exec.runtime > 0 {
			return true
		}
	}
	return false
}

// ReplaySeconds is what replay task t takes on a node of class nodeClass:
// the Go twin of replayScript (its recorded seconds times the time scale,
// EnvReplaySeconds, divided by the class's speed in EnvReplaySpeeds; a
// class missing from the table, or a speed that is not positive, counts
// as 1), rounded to milliseconds as the script's printf does. ok is false
// when t is not a replay task (no EnvReplaySeconds) or its seconds do not
// parse. The simulator is given these as the tasks' actual runtimes
// (bench/replay), so that what it plays is what the commands really do.
func ReplaySeconds(t *graph.Task, nodeClass string) (seconds float64, ok bool) {
	r, err := strconv.ParseFloat(t.Env[EnvReplaySeconds], 64)
	if err != nil || !(r >= 0) || math.IsInf(r, 0) {
		return 0, false // NaN too
	}
	f := 1.0
	for _, p := range strings.Fields(t.Env[EnvReplaySpeeds]) {
		k, v, found := strings.Cut(p, "=")
		if !found || k != nodeClass {
			continue
		}
		// awk's "+ 0" reads a leading number and takes 0 for none.
		if x, err := strconv.ParseFloat(v, 64); err == nil {
			f = x
		} else {
			f = 0
		}
	}
	if !(f > 0) {
		f = 1
	}
	return math.Round(r/f*1000) / 1000, true
}
