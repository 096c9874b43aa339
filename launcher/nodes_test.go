package launcher

import (
	"testing"

	"github.com/hashicorp/nomad/api"
)

func TestJobNodeClass(t *testing.T) {
	j := &api.Job{TaskGroups: []*api.TaskGroup{{Constraints: []*api.Constraint{
		api.NewConstraint("${attr.kernel.name}", "=", "linux"),
		api.NewConstraint(nodeClassTarget, "=", "io-bound"),
	}}}}
	if c, ok := jobNodeClass(j); !ok || c != "io-bound" {
		t.Errorf("group constraint: %q, %v", c, ok)
	}
	j = &api.Job{Constraints: []*api.Constraint{api.NewConstraint(nodeClassTarget, "!=", "gpu")}}
	if c, ok := jobNodeClass(j); ok {
		t.Errorf("a != constraint pins nothing, got %q", c)
	}
}

func TestReadyClasses(t *testing.T) {
	if got := readyClasses(map[string]int{"b@default": 2, "a@gpu": 1}); got != "a (pool gpu): 1, b (pool default): 2" {
		t.Errorf("readyClasses = %q", got)
	}
	if got := readyClasses(nil); got != "none" {
		t.Errorf("readyClasses(nil) = %q", got)
	}
}
