package nomadjob

import (
	"encoding/json"
	"fmt"
	"os"
	"strings"

	"github.com/hashicorp/hcl/v2"
	"github.com/hashicorp/hcl/v2/hclsyntax"
	"github.com/zclconf/go-cty/cty"
)

// ReadMeta returns the job-level meta of a job file WriteDir writes: a
// <job ID>.json payload or a <job ID>.nomad.hcl jobspec (its job block's
// meta block, whose values must be literal strings). It returns an error
// for a file it cannot read or parse, or of another suffix.
func ReadMeta(path string) (map[string]string, error) {
	src, err := os.ReadFile(path)
	if err != nil {
		return nil, err
	}
	switch {
	case strings.HasSuffix(path, HCLSuffix):
		return hclMeta(path, src)
	case strings.HasSuffix(path, JSONSuffix):
		var doc struct {
			Job struct{ Meta map[string]string }
		}
		if err := json.Unmarshal(src, &doc); err != nil {
			return nil, fmt.Errorf("%s: %w", path, err)
		}
		return doc.Job.Meta, nil
	}
	return nil, fmt.Errorf("%s: not a job file (%s or %s)", path, HCLSuffix, JSONSuffix)
}

// hclMeta reads the meta block of the first job block of a jobspec.
func hclMeta(path string, src []byte) (map[string]string, error) {
	f, diags := hclsyntax.ParseConfig(src, path, hcl.InitialPos)
	if diags.HasErrors() {
		return nil, diags
	}
	for _, job := range f.Body.(*hclsyntax.Body).Blocks {
		if job.Type != "job" {
			continue
		}
		meta := map[string]string{}
		for _, b := range job.Body.Blocks {
			if b.Type != "meta" {
				continue
			}
			for name, a := range b.Body.Attributes {
				v, diags := a.Expr.Value(nil)
				if diags.HasErrors() || v.IsNull() || !v.Type().Equals(cty.String) {
					return nil, fmt.Errorf("%s: meta %q is not a literal string", a.NameRange, name)
				}
				meta[name] = v.AsString()
			}
		}
		return meta, nil
	}
	return nil, fmt.Errorf("%s: no job block", path)
}
