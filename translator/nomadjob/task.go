package nomadjob

import (
	"fmt"
	"maps"
	"path"
	"regexp"
	"slices"
	"strconv"
	"strings"

	"github.com/hashicorp/nomad/api"

	"github.com/shardwise/shardwise/planner/catalog"
	"github.com/shardwise/shardwise/planner/graph"
	"github.com/shardwise/shardwise/planner/plan"
	"github.com/shardwise/shardwise/sdk"
)

// Environment variables Jobs sets in every task. SHARDWISE_SHARD is set on
// unsplit shards; split jobs set the SHARDWISE_SPLIT_* variables instead,
// whose lists are in piece order so that piece NOMAD_ALLOC_INDEX is element
// NOMAD_ALLOC_INDEX.
const (
	EnvGraph     = "SHARDWISE_GRAPH"
	EnvRun       = "SHARDWISE_RUN"
	EnvJob       = "SHARDWISE_JOB"
	EnvShard     = "SHARDWISE_SHARD"
	EnvClass     = "SHARDWISE_CLASS"
	EnvTasks     = "SHARDWISE_TASKS" // comma list, run order
	EnvSplitTask = "SHARDWISE_SPLIT_TASK"
	// EnvSplitIndex is "${NOMAD_ALLOC_INDEX}", interpolated by Nomad.
	EnvSplitIndex  = "SHARDWISE_SPLIT_INDEX"
	EnvSplitCount  = "SHARDWISE_SPLIT_COUNT"
	EnvSplitShards = "SHARDWISE_SPLIT_SHARDS" // comma list of shard IDs
	EnvSplitBytes  = "SHARDWISE_SPLIT_BYTES"  // comma list, bytes per piece
	EnvSplitItems  = "SHARDWISE_SPLIT_ITEMS"  // comma list, items per piece

	// EnvTasksFile replaces EnvTasks when the list is longer than
	// MaxInline: the path of a file holding it.
	EnvTasksFile = "SHARDWISE_TASKS_FILE"
)

// reservedEnv holds the names Jobs sets; a task's env may not override them.
var reservedEnv = map[string]bool{
	EnvGraph: true, EnvRun: true, EnvJob: true, EnvShard: true, EnvClass: true, EnvTasks: true, EnvTasksFile: true,
	EnvSplitTask: true, EnvSplitIndex: true, EnvSplitCount: true, EnvSplitShards: true,
	EnvSplitBytes: true, EnvSplitItems: true,
}

// task builds the one Nomad task of a unit: command, environment,
// artifacts and resources.
func (b *builder) task(u *unit, tasks []*graph.Task, class *catalog.Class, r plan.Resources) (*api.Task, error) {
	res, err := resources(r, class, b.opts)
	if err != nil {
		return nil, err
	}
	env, overrides, err := b.env(u, tasks)
	if err != nil {
		return nil, err
	}
	t := &api.Task{
		Name:      taskName(u, tasks),
		Driver:    b.opts.Driver,
		Env:       env,
		Artifacts: artifacts(tasks),
		Resources: res,
	}
	if err := checkName("task", t.Name); err != nil {
		return nil, err
	}
	var script *api.Template
	if b.opts.Driver == sdk.DriverShard {
		t.Config, script, err = b.shardConfig(u, tasks, overrides)
	} else {
		t.Config, script, err = b.execConfig(tasks, overrides)
	}
	if err != nil {
		return nil, err
	}
	if script != nil {
		t.Templates = append(t.Templates, script)
	}
	if list := env[EnvTasks]; len(list) > MaxInline {
		delete(env, EnvTasks)
		env[EnvTasksFile] = "${NOMAD_TASK_DIR}/" + TasksFile
		t.Templates = append(t.Templates, fileTemplate(TasksFile, list+"\n"))
	}
	return t, nil
}

// taskName is the graph task's name for a one-task shard and the group's
// name for a fused one.
func taskName(u *unit, tasks []*graph.Task) string {
	if len(tasks) == 1 {
		return tasks[0].Name
	}
	return groupName(u)
}

// execConfig is the raw_exec/exec config: the task's own command for a
// one-task shard, else Shell -c SCRIPT running every task in order. A
// script longer than MaxInline is shipped as the file ScriptFile through a
// template block (returned) and run as Shell ${NOMAD_TASK_DIR}/ScriptFile:
// an exec argument is limited to 128 KiB on Linux.
func (b *builder) execConfig(tasks []*graph.Task, overrides []map[string]string) (map[string]any, *api.Template, error) {
	if len(tasks) == 1 && len(overrides[0]) == 0 {
		t := tasks[0]
		if t.Command == "" {
			return nil, nil, fmt.Errorf("task %s: empty command", t.Name)
		}
		return commandConfig(t.Command, t.Args), nil, nil
	}
	script, err := Script(tasks, overrides)
	if err != nil {
		return nil, nil, err
	}
	if len(script) <= MaxInline {
		return commandConfig(b.opts.Shell, []string{"-c", script}), nil, nil
	}
	return commandConfig(b.opts.Shell, []string{"${NOMAD_TASK_DIR}/" + ScriptFile}), fileTemplate(ScriptFile, script), nil
}

// MaxInline is the longest fused script, and the longest SHARDWISE_TASKS
// list, that a job carries inline, in bytes. Linux refuses to exec a
// command with one argument or environment string over 128 KiB
// (MAX_ARG_STRLEN) or all of them together over a quarter of the stack
// limit (ARG_MAX, 2 MiB by default) with E2BIG, "Argument list too long";
// past MaxInline the text is shipped as a file in the task's local/ folder.
const MaxInline = 32 << 10

// Files Jobs ships into the task's local/ folder (NOMAD_TASK_DIR) through
// template blocks when they are too long to pass inline.
const (
	// ScriptFile is a fused shard's script, run as Shell ScriptFile.
	ScriptFile = "shardwise-tasks.sh"
	// TasksFile holds the SHARDWISE_TASKS comma list; EnvTasksFile names
	// it instead of SHARDWISE_TASKS.
	TasksFile = "shardwise-tasks.txt"
)

// fileTemplate is a template block writing data verbatim to local/name.
// Nomad renders templates with consul-template, which would run any
// "{{ ... }}" in data as an action: the delimiters are set to a pair data
// does not hold.
func fileTemplate(name, data string) *api.Template {
	left, right := templateDelims(data)
	return &api.Template{
		EmbeddedTmpl: new(data),
		DestPath:     new("local/" + name),
		LeftDelim:    new(left),
		RightDelim:   new(right),
	}
}

// templateDelims returns consul-template delimiters that data holds
// neither of.
func templateDelims(data string) (string, string) {
	for i := 0; ; i++ {
		left, right := "[[shardwise", "shardwise]]"
		if i > 0 {
			left, right = fmt.Sprintf("[[shardwise%d", i), fmt.Sprintf("shardwise%d]]", i)
		}
		if !strings.Contains(data, left) && !strings.Contains(data, right) {
			return left, right
		}
	}
}

// commandConfig is a driver config holding command and, when any, args.
func commandConfig(command string, args []string) map[string]any {
	c := map[string]any{"command": command}
	if len(args) > 0 {
		c["args"] = slices.Clone(args)
	}
	return c
}

// Script returns the POSIX shell script that runs tasks in order and stops
// at the first failure (set -e). Every word is shell-quoted, so arguments
// reach each command byte for byte. overrides, parallel to tasks (nil for
// none), holds environment variables set for one command only (NAME=value
// prefixes); their names must be shell identifiers. When the tasks are
// timed (sdk.TimesTasks) the script also writes the time before the first
// task and after each one to sdk.TaskTimesFile in NOMAD_ALLOC_DIR (see
// sdk.ParseTaskTimes); a write that fails is skipped silently, so the
// script's output and exit status are the tasks'. It returns an error
// naming a task with an empty command or an unusable override name.
func Script(tasks []*graph.Task, overrides []map[string]string) (string, error) {
	var sb strings.Builder
	sb.WriteString("set -e\n")
	timed := sdk.TimesTasks(len(tasks))
	if timed {
		sb.WriteString(timesPrologue)
	}
	for i, t := range tasks {
		if t.Command == "" {
			return "", fmt.Errorf("task %s: empty command", t.Name)
		}
		fmt.Fprintf(&sb, "# task %s\n", strconv.Quote(t.Name))
		// Links first: the env prefix below must stay on the command's line.
		writeLinks(&sb, tasks[:i], t)
		var ov map[string]string
		if i < len(overrides) {
			ov = overrides[i]
		}
		for _, k := range slices.Sorted(maps.Keys(ov)) {
			if !shellName.MatchString(k) {
				return "", fmt.Errorf("task %s: env %q differs from a fused task's and is not a shell variable name", t.Name, k)
			}
			sb.WriteString(k + "=" + ShellQuote(ov[k]) + " ")
		}
		sb.WriteString(quoteCommand(t.Command))
		for _, a := range t.Args {
			sb.WriteString(" " + ShellQuote(a))
		}
		sb.WriteString("\n")
		if timed {
			fmt.Fprintf(&sb, "_sw_t %d\n", i+1)
		}
	}
	return sb.String(), nil
}

// writeLinks writes the lines that hand task t the outputs of the tasks
// before it in its shard: each input of t from one of them becomes a
// symbolic link at the input's path to the producer's output path (both
// relative to the task directory, the working directory of every task of
// the shard), its folder made first. Channels carry data between shards
// only; without the link a task would not find, at its input's path,
// what an earlier task of its own shard wrote. An input at the output's
// own path needs none.
func writeLinks(sb *strings.Builder, before []*graph.Task, t *graph.Task) {
	for _, in := range t.Inputs {
		k := slices.IndexFunc(before, func(p *graph.Task) bool { return p.Name == in.Task })
		if k < 0 || in.Path == "" {
			continue
		}
		o := slices.IndexFunc(before[k].Outputs, func(o graph.Output) bool { return o.Name == in.Output })
		if o < 0 {
			continue
		}
		out := before[k].Outputs[o].Path
		if out == "" || path.Clean(out) == path.Clean(in.Path) {
			continue
		}
		if dir := path.Dir(in.Path); dir != "." {
			sb.WriteString("mkdir -p " + ShellQuote(dir) + " && ")
		}
		sb.WriteString(`ln -sfn "$PWD"/` + ShellQuote(out) + " " + ShellQuote(in.Path) + "\n")
	}
}

// timesPrologue starts a timed script: _sw_t K appends boundary K to the
// task times file, starting it afresh at K = 0. Its redirections and
// errors stay inside (2>/dev/null, || true), and it returns 0, so set -e
// never stops on it; no ${...} appears, which Nomad would interpolate in
// an inline script.
const timesPrologue = `_sw_f=
if [ -n "$NOMAD_ALLOC_DIR" ]; then _sw_f="$NOMAD_ALLOC_DIR/` + sdk.TaskTimesFile + `"; fi
_sw_t() { if [ -n "$_sw_f" ]; then if [ "$1" = 0 ]; then true >"$_sw_f" || true; fi; printf '%s %s\n' "$1" "$(date +%s.%N)" >>"$_sw_f" || true; fi; } 2>/dev/null
_sw_t 0
`

var (
	shellName = regexp.MustCompile(`^[A-Za-z_][A-Za-z0-9_]*$`)
	shellSafe = regexp.MustCompile(`^[A-Za-z0-9_@%+=:,./-]+$`)
)

// ShellQuote returns s as one POSIX shell word: unchanged when it holds
// only characters the shell never interprets, else in single quotes, a
// single quote inside becoming quote, backslash, quote, quote:
//
//	it's "quoted" $HOME  ->  'it'\''s "quoted" $HOME'
func ShellQuote(s string) string {
	if shellSafe.MatchString(s) {
		return s
	}
	return "'" + strings.ReplaceAll(s, "'", `'\''`) + "'"
}

// quoteCommand quotes a command word; a bare word holding "=" would be read
// as a variable assignment, so it is quoted too.
func quoteCommand(s string) string {
	if strings.Contains(s, "=") {
		return "'" + strings.ReplaceAll(s, "'", `'\''`) + "'"
	}
	return ShellQuote(s)
}

// env returns the task's environment: the tasks' env merged (the first
// task to set a name wins) plus the SHARDWISE_* variables, and for each task
// the names whose value differs from the merged one (set per command). A
// task may not set a name Jobs sets itself (other SHARDWISE_* names, such as
// those the trace importer records, pass through).
func (b *builder) env(u *unit, tasks []*graph.Task) (map[string]string, []map[string]string, error) {
	env := b.shardwiseEnv(u, tasks)
	for _, t := range tasks {
		for k, v := range t.Env {
			if reservedEnv[k] {
				return nil, nil, fmt.Errorf("task %s: env %s: the name is reserved, Shardwise sets it", t.Name, k)
			}
			if _, ok := env[k]; !ok {
				env[k] = v
			}
		}
	}
	overrides := make([]map[string]string, len(tasks))
	for i, t := range tasks {
		for k, v := range t.Env {
			if env[k] != v {
				if overrides[i] == nil {
					overrides[i] = map[string]string{}
				}
				overrides[i][k] = v
			}
		}
	}
	return env, overrides, nil
}

// shardwiseEnv returns the SHARDWISE_* variables of a unit.
func (b *builder) shardwiseEnv(u *unit, tasks []*graph.Task) map[string]string {
	names := make([]string, len(tasks))
	for i, t := range tasks {
		names[i] = t.Name
	}
	s := u.first()
	env := map[string]string{
		EnvGraph: b.plan.Graph,
		EnvRun:   b.plan.Run,
		EnvJob:   u.job,
		EnvClass: s.Class,
		EnvTasks: strings.Join(names, ","),
	}
	sp := u.split()
	if sp == nil {
		env[EnvShard] = s.ID
		return env
	}
	env[EnvSplitTask] = sp.Task
	env[EnvSplitIndex] = "${NOMAD_ALLOC_INDEX}"
	env[EnvSplitCount] = strconv.Itoa(sp.Count)
	env[EnvSplitShards] = strings.Join(u.ids(), ",")
	bytes, items := pieceShares(u.shards)
	if bytes != "" {
		env[EnvSplitBytes] = bytes
	}
	if items != "" {
		env[EnvSplitItems] = items
	}
	return env
}

// pieceShares returns the comma lists of each piece's bytes and items, or
// "" for a measure no piece declares.
func pieceShares(shards []*plan.Shard) (bytes, items string) {
	var b, it []string
	var anyB, anyI bool
	for _, s := range shards {
		b = append(b, strconv.FormatInt(s.Split.Bytes, 10))
		it = append(it, strconv.Itoa(s.Split.Items))
		anyB = anyB || s.Split.Bytes != 0
		anyI = anyI || s.Split.Items != 0
	}
	if anyB {
		bytes = strings.Join(b, ",")
	}
	if anyI {
		items = strings.Join(it, ",")
	}
	return bytes, items
}

// artifacts returns the tasks' artifacts in task order, each distinct
// (source, destination, options) once.
func artifacts(tasks []*graph.Task) []*api.TaskArtifact {
	var out []*api.TaskArtifact
	seen := map[string]bool{}
	for _, t := range tasks {
		for _, a := range t.Artifacts {
			key := artifactKey(a)
			if seen[key] {
				continue
			}
			seen[key] = true
			ta := &api.TaskArtifact{GetterSource: new(a.Source)}
			if a.Destination != "" {
				ta.RelativeDest = new(a.Destination)
			}
			if len(a.Options) > 0 {
				ta.GetterOptions = maps.Clone(a.Options)
			}
			out = append(out, ta)
		}
	}
	return out
}

// artifactKey identifies an artifact for de-duplication.
func artifactKey(a graph.Artifact) string {
	var sb strings.Builder
	sb.WriteString(strconv.Quote(a.Source) + strconv.Quote(a.Destination))
	for _, k := range slices.Sorted(maps.Keys(a.Options)) {
		sb.WriteString(strconv.Quote(k) + strconv.Quote(a.Options[k]))
	}
	return sb.String()
}
