package app

import (
	"errors"
	"fmt"
	"strings"

	"github.com/hashicorp/hcl/v2"

	"github.com/shardwise/shardwise/planner/predict"
)

// positionInfeasible returns err as a *DiagnosticsError with one error per
// task no executor class can run, at the task's declaration (file:line:col),
// when err is a *predict.InfeasibleError of a graph read from a file; any
// other error comes back as it is.
func positionInfeasible(err error) error {
	var inf *predict.InfeasibleError
	if !errors.As(err, &inf) || len(inf.Tasks) == 0 {
		return err
	}
	var diags hcl.Diagnostics
	for _, t := range inf.Tasks {
		if t.Range.Filename == "" {
			return err // a graph built in code: no place to point at
		}
		rng := t.Range
		diags = append(diags, &hcl.Diagnostic{
			Severity: hcl.DiagError,
			Summary:  "Task fits no executor class",
			Detail: fmt.Sprintf("No executor class of the catalog can run task %q: %s. Check its hints, or give -catalog a class that fits it.",
				t.Task, strings.Join(t.Reasons, "; ")),
			Subject: &rng,
		})
	}
	return &DiagnosticsError{Diags: diags}
}
