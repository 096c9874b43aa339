package launcher

import (
	"encoding/json"
	"testing"

	"github.com/shardwise/shardwise/launcher/runstate"
)

// TestSpecOptionsKeepRegisterConcurrency stores a run's
// -register-concurrency with its options, through the JSON the state is
// written as.
func TestSpecOptionsKeepRegisterConcurrency(t *testing.T) {
	b, err := json.Marshal(specOptions(Options{Retries: 2, RegisterConcurrency: 3}))
	if err != nil {
		t.Fatal(err)
	}
	var got runstate.Options
	if err := json.Unmarshal(b, &got); err != nil {
		t.Fatal(err)
	}
	if got.RegisterConcurrency != 3 || got.Retries != 2 || !got.NoReplan {
		t.Fatalf("stored options %+v, want register concurrency 3, retries 2, no re-planner", got)
	}
}
