package launcher

import (
	"testing"

	"github.com/hashicorp/nomad/api"
)

// TestAllocFailure: the event that says why the task failed is named, not
// the later "Not Restarting" that Nomad marks as failing it; without one,
// the newest event with a message.
func TestAllocFailure(t *testing.T) {
	driverFailure := &api.TaskEvent{Type: "Driver Failure",
		DisplayMessage: `failed to launch command with executor: binary "/no/such/shardwise" could not be found`}
	states := map[string]*api.TaskState{
		"launcher": {Failed: true, Events: []*api.TaskEvent{
			{Type: "Received", DisplayMessage: "Task received by client"},
			driverFailure,
			{Type: "Not Restarting", FailsTask: true, DisplayMessage: "Error was unrecoverable"},
		}},
	}
	want := `task launcher: Driver Failure: failed to launch command with executor: binary "/no/such/shardwise" could not be found`
	if got := allocFailure(states); got != want {
		t.Errorf("allocFailure = %q\nwant %q", got, want)
	}
	states["launcher"].Events = []*api.TaskEvent{{Type: "Received", DisplayMessage: "Task received by client"},
		nil, {Type: "Terminated", Message: "Exit Code: 1"}}
	if got := allocFailure(states); got != "task launcher: Terminated: Exit Code: 1" {
		t.Errorf("without a failing event: %q", got)
	}
	if got := allocFailure(nil); got != "" {
		t.Errorf("no task states: %q", got)
	}
}
