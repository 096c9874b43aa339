package sdk

import (
	"encoding/json"
	"errors"
	"fmt"
)

// ManifestTask is one task of a fused shard in its TaskManifest.
type ManifestTask struct {
	// Task is the graph task's name.
	Task string `json:"task"`
	// Signature is its history key (graph.Task.Signature).
	Signature string `json:"signature"`
	// InputBytes is the data the task reads, bytes: the task's declared
	// input size, else the sum of its incoming edges' declared sizes, or
	// for an edge from another shard of undeclared size the plan's
	// channel size. SharedInputBytes is the part other tasks of the graph
	// read too. 0 when unknown.
	InputBytes       int64 `json:"input_bytes,omitempty"`
	SharedInputBytes int64 `json:"shared_input_bytes,omitempty"`
}

// TaskManifest lists the tasks of a fused shard in run order: element k
// is the task that ran between boundaries k and k+1 of the TaskTimesFile.
type TaskManifest []ManifestTask

// EncodeTaskManifest returns m as the MetaTasks meta value.
func EncodeTaskManifest(m TaskManifest) string {
	b, err := json.Marshal(m)
	if err != nil { // strings and integers only: cannot fail
		panic(err)
	}
	return string(b)
}

// ParseTaskManifest reads a MetaTasks meta value. It returns an error
// saying what is wrong and, where it applies, which element: not a JSON
// array of tasks, a count of tasks whose times are not recorded
// (TimesTasks), an empty task name or signature, a task named twice, or
// negative bytes.
func ParseTaskManifest(value string) (TaskManifest, error) {
	var m TaskManifest
	if err := json.Unmarshal([]byte(value), &m); err != nil {
		return nil, fmt.Errorf("meta %s: %w", MetaTasks, err)
	}
	if !TimesTasks(len(m)) {
		return nil, fmt.Errorf("meta %s: %d tasks, want 2 to %d (a fused shard whose tasks are timed)", MetaTasks, len(m), MaxTimedTasks)
	}
	seen := make(map[string]bool, len(m))
	for k, t := range m {
		var err error
		switch {
		case t.Task == "":
			err = errors.New("no task name")
		case seen[t.Task]:
			err = fmt.Errorf("task %q named twice", t.Task)
		case t.Signature == "":
			err = fmt.Errorf("task %q has no signature", t.Task)
		case t.InputBytes < 0 || t.SharedInputBytes < 0:
			err = fmt.Errorf("task %q: negative input bytes", t.Task)
		}
		if err != nil {
			return nil, fmt.Errorf("meta %s: task %d: %w", MetaTasks, k, err)
		}
		seen[t.Task] = true
	}
	return m, nil
}
