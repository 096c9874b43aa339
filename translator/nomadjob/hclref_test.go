package nomadjob

// This file keeps the straightforward hclwrite-based jobspec writer as the
// oracle for WriteHCL: it builds the file with hclwrite's Body API and lets
// hclwrite format it. WriteHCL emits the same bytes directly, about 25
// times faster; TestWriteHCLMatchesHCLWrite holds them equal.

import (
	"fmt"
	"io"
	"maps"
	"slices"
	"time"

	"github.com/hashicorp/hcl/v2/hclsyntax"
	"github.com/hashicorp/hcl/v2/hclwrite"
	"github.com/hashicorp/nomad/api"
	"github.com/zclconf/go-cty/cty"
)

// WriteHCL writes job as a Nomad jobspec (HCL2), formatted as `nomad fmt`
// would (hclwrite.Format), with the jobspec's own block and attribute names
// (job, group, task, constraint, restart, reschedule, ephemeral_disk, meta,
// env, artifact, resources, device, ...). Strings are written literally:
// "${" and "%{" are escaped so the parser keeps them for Nomad's runtime
// interpolation.
//
// WriteHCL covers the fields Jobs sets and a few more (name, user,
// kill_timeout, leader, task constraints and restart, job reschedule). It
// returns an error naming the first field it cannot write rather than drop
// it, an error for a config value that is not a string, bool, number, list
// or map of those, and any error from w.
func refWriteHCL(w io.Writer, job *api.Job) error {
	if job == nil || job.ID == nil || *job.ID == "" {
		return fmt.Errorf("write hcl: job has no ID")
	}
	if err := unsupported(job); err != nil {
		return fmt.Errorf("write hcl: job %s: %w", *job.ID, err)
	}
	f := hclwrite.NewEmptyFile()
	if err := refWriteJob(f.Body().AppendNewBlock("job", []string{*job.ID}).Body(), job); err != nil {
		return fmt.Errorf("write hcl: job %s: %w", *job.ID, err)
	}
	if _, err := w.Write(f.Bytes()); err != nil {
		return fmt.Errorf("write hcl: job %s: %w", *job.ID, err)
	}
	return nil
}

// writeJob writes the job block's body.
func refWriteJob(b *hclwrite.Body, j *api.Job) error {
	if j.Name != nil && *j.Name != *j.ID {
		refSetString(b, "name", j.Name)
	}
	refSetString(b, "type", j.Type)
	refSetInt(b, "priority", j.Priority)
	refSetString(b, "region", j.Region)
	refSetString(b, "namespace", j.Namespace)
	refSetStrings(b, "datacenters", j.Datacenters)
	refSetString(b, "node_pool", j.NodePool)
	refSetBool(b, "all_at_once", j.AllAtOnce)
	refWriteMap(b, "meta", j.Meta)
	refWriteConstraints(b, j.Constraints)
	refWriteReschedule(b, j.Reschedule)
	for _, g := range j.TaskGroups {
		if g == nil || g.Name == nil {
			return fmt.Errorf("group without a name")
		}
		b.AppendNewline()
		if err := refWriteGroup(b.AppendNewBlock("group", []string{*g.Name}).Body(), g); err != nil {
			return fmt.Errorf("group %s: %w", *g.Name, err)
		}
	}
	return nil
}

// writeGroup writes a group block's body.
func refWriteGroup(b *hclwrite.Body, g *api.TaskGroup) error {
	refSetInt(b, "count", g.Count)
	refWriteMap(b, "meta", g.Meta)
	refWriteConstraints(b, g.Constraints)
	refWriteRestart(b, g.RestartPolicy)
	refWriteReschedule(b, g.ReschedulePolicy)
	if d := g.EphemeralDisk; d != nil {
		db := b.AppendNewBlock("ephemeral_disk", nil).Body()
		refSetBool(db, "sticky", d.Sticky)
		refSetBool(db, "migrate", d.Migrate)
		refSetInt(db, "size", d.SizeMB)
	}
	for _, t := range g.Tasks {
		if t == nil {
			return fmt.Errorf("nil task")
		}
		b.AppendNewline()
		if err := refWriteTask(b.AppendNewBlock("task", []string{t.Name}).Body(), t); err != nil {
			return fmt.Errorf("task %s: %w", t.Name, err)
		}
	}
	return nil
}

// writeTask writes a task block's body.
func refWriteTask(b *hclwrite.Body, t *api.Task) error {
	b.SetAttributeValue("driver", cty.StringVal(t.Driver))
	if t.User != "" {
		b.SetAttributeValue("user", cty.StringVal(t.User))
	}
	if t.Leader {
		b.SetAttributeValue("leader", cty.True)
	}
	refSetDuration(b, "kill_timeout", t.KillTimeout)
	if t.Config != nil {
		if err := refWriteConfig(b.AppendNewBlock("config", nil).Body(), t.Config); err != nil {
			return fmt.Errorf("config: %w", err)
		}
	}
	refWriteMap(b, "env", t.Env)
	refWriteMap(b, "meta", t.Meta)
	refWriteConstraints(b, t.Constraints)
	refWriteRestart(b, t.RestartPolicy)
	for _, a := range t.Artifacts {
		refWriteArtifact(b.AppendNewBlock("artifact", nil).Body(), a)
	}
	for _, tm := range t.Templates {
		tb := b.AppendNewBlock("template", nil).Body()
		refSetString(tb, "source", tm.SourcePath)
		refSetString(tb, "destination", tm.DestPath)
		refSetString(tb, "data", tm.EmbeddedTmpl)
		refSetString(tb, "change_mode", tm.ChangeMode)
		refSetString(tb, "perms", tm.Perms)
		refSetString(tb, "left_delimiter", tm.LeftDelim)
		refSetString(tb, "right_delimiter", tm.RightDelim)
	}
	if t.Resources != nil {
		refWriteResources(b.AppendNewBlock("resources", nil).Body(), t.Resources)
	}
	return nil
}

// writeConfig writes a driver config block: one attribute per key, sorted.
func refWriteConfig(b *hclwrite.Body, config map[string]any) error {
	for _, k := range slices.Sorted(maps.Keys(config)) {
		if !hclsyntax.ValidIdentifier(k) {
			return fmt.Errorf("key %q is not an HCL identifier", k)
		}
		v, err := refCtyValue(config[k])
		if err != nil {
			return fmt.Errorf("%s: %w", k, err)
		}
		b.SetAttributeValue(k, v)
	}
	return nil
}

// writeResources writes a resources block's body.
func refWriteResources(b *hclwrite.Body, r *api.Resources) {
	refSetInt(b, "cpu", r.CPU)
	refSetInt(b, "cores", r.Cores)
	refSetInt(b, "memory", r.MemoryMB)
	refSetInt(b, "memory_max", r.MemoryMaxMB)
	refSetInt(b, "disk", r.DiskMB)
	refSetInt(b, "secrets", r.SecretsMB)
	for _, d := range r.Devices {
		db := b.AppendNewBlock("device", []string{d.Name}).Body()
		if d.Count != nil {
			db.SetAttributeValue("count", cty.NumberUIntVal(*d.Count))
		}
		refWriteConstraints(db, d.Constraints)
		refWriteAffinities(db, d.Affinities)
	}
}

// writeArtifact writes an artifact block's body.
func refWriteArtifact(b *hclwrite.Body, a *api.TaskArtifact) {
	refSetString(b, "source", a.GetterSource)
	refSetString(b, "destination", a.RelativeDest)
	refSetString(b, "mode", a.GetterMode)
	refSetBool(b, "insecure", a.GetterInsecure)
	if a.Chown {
		b.SetAttributeValue("chown", cty.True)
	}
	refWriteMap(b, "options", a.GetterOptions)
	refWriteMap(b, "headers", a.GetterHeaders)
}

// writeConstraints appends one constraint block per constraint.
func refWriteConstraints(b *hclwrite.Body, cs []*api.Constraint) {
	for _, c := range cs {
		cb := b.AppendNewBlock("constraint", nil).Body()
		refSetNonEmpty(cb, "attribute", c.LTarget)
		refSetNonEmpty(cb, "operator", c.Operand)
		refSetNonEmpty(cb, "value", c.RTarget)
	}
}

// writeAffinities appends one affinity block per affinity.
func refWriteAffinities(b *hclwrite.Body, as []*api.Affinity) {
	for _, a := range as {
		ab := b.AppendNewBlock("affinity", nil).Body()
		refSetNonEmpty(ab, "attribute", a.LTarget)
		refSetNonEmpty(ab, "operator", a.Operand)
		refSetNonEmpty(ab, "value", a.RTarget)
		if a.Weight != nil {
			ab.SetAttributeValue("weight", cty.NumberIntVal(int64(*a.Weight)))
		}
	}
}

// writeRestart writes a restart block, if r is set.
func refWriteRestart(b *hclwrite.Body, r *api.RestartPolicy) {
	if r == nil {
		return
	}
	rb := b.AppendNewBlock("restart", nil).Body()
	refSetInt(rb, "attempts", r.Attempts)
	refSetDuration(rb, "interval", r.Interval)
	refSetDuration(rb, "delay", r.Delay)
	refSetString(rb, "mode", r.Mode)
	refSetBool(rb, "render_templates", r.RenderTemplates)
}

// writeReschedule writes a reschedule block, if r is set.
func refWriteReschedule(b *hclwrite.Body, r *api.ReschedulePolicy) {
	if r == nil {
		return
	}
	rb := b.AppendNewBlock("reschedule", nil).Body()
	refSetInt(rb, "attempts", r.Attempts)
	refSetDuration(rb, "interval", r.Interval)
	refSetDuration(rb, "delay", r.Delay)
	refSetString(rb, "delay_function", r.DelayFunction)
	refSetDuration(rb, "max_delay", r.MaxDelay)
	refSetBool(rb, "unlimited", r.Unlimited)
}

// writeMap writes a string map (meta, env, options, headers) as a block
// when every key is an HCL identifier, else as an object attribute, which
// the jobspec also accepts ("a.b" = "1").
func refWriteMap(b *hclwrite.Body, name string, m map[string]string) {
	if len(m) == 0 {
		return
	}
	keys := slices.Sorted(maps.Keys(m))
	if !slices.ContainsFunc(keys, func(k string) bool { return !hclsyntax.ValidIdentifier(k) }) {
		mb := b.AppendNewBlock(name, nil).Body()
		for _, k := range keys {
			mb.SetAttributeValue(k, cty.StringVal(m[k]))
		}
		return
	}
	obj := make(map[string]cty.Value, len(m))
	for k, v := range m {
		obj[k] = cty.StringVal(v)
	}
	b.SetAttributeValue(name, cty.ObjectVal(obj))
}

// ctyValue converts a driver config value. Lists become tuples and maps
// objects, so elements may differ in type.
func refCtyValue(v any) (cty.Value, error) {
	switch x := v.(type) {
	case string:
		return cty.StringVal(x), nil
	case bool:
		return cty.BoolVal(x), nil
	case int:
		return cty.NumberIntVal(int64(x)), nil
	case int64:
		return cty.NumberIntVal(x), nil
	case uint64:
		return cty.NumberUIntVal(x), nil
	case float64:
		return cty.NumberFloatVal(x), nil
	case []string:
		return refTupleOf(x)
	case []int64:
		return refTupleOf(x)
	case []any:
		return refTupleOf(x)
	case map[string]string:
		return refObjectOf(x)
	case map[string]any:
		return refObjectOf(x)
	}
	return cty.NilVal, fmt.Errorf("unsupported value type %T", v)
}

// tupleOf converts a list.
func refTupleOf[T any](xs []T) (cty.Value, error) {
	if len(xs) == 0 {
		return cty.EmptyTupleVal, nil
	}
	vals := make([]cty.Value, len(xs))
	for i, x := range xs {
		v, err := refCtyValue(x)
		if err != nil {
			return cty.NilVal, fmt.Errorf("[%d]: %w", i, err)
		}
		vals[i] = v
	}
	return cty.TupleVal(vals), nil
}

// objectOf converts a map.
func refObjectOf[T any](m map[string]T) (cty.Value, error) {
	if len(m) == 0 {
		return cty.EmptyObjectVal, nil
	}
	vals := make(map[string]cty.Value, len(m))
	for k, x := range m {
		v, err := refCtyValue(x)
		if err != nil {
			return cty.NilVal, fmt.Errorf("%s: %w", k, err)
		}
		vals[k] = v
	}
	return cty.ObjectVal(vals), nil
}

func refSetString(b *hclwrite.Body, name string, v *string) {
	if v != nil {
		b.SetAttributeValue(name, cty.StringVal(*v))
	}
}

func refSetNonEmpty(b *hclwrite.Body, name, v string) {
	if v != "" {
		b.SetAttributeValue(name, cty.StringVal(v))
	}
}

func refSetInt(b *hclwrite.Body, name string, v *int) {
	if v != nil {
		b.SetAttributeValue(name, cty.NumberIntVal(int64(*v)))
	}
}

func refSetBool(b *hclwrite.Body, name string, v *bool) {
	if v != nil {
		b.SetAttributeValue(name, cty.BoolVal(*v))
	}
}

func refSetStrings(b *hclwrite.Body, name string, v []string) {
	if len(v) > 0 {
		vals := make([]cty.Value, len(v))
		for i, s := range v {
			vals[i] = cty.StringVal(s)
		}
		b.SetAttributeValue(name, cty.ListVal(vals))
	}
}

func refSetDuration(b *hclwrite.Body, name string, v *time.Duration) {
	if v != nil {
		b.SetAttributeValue(name, cty.StringVal(formatDuration(*v)))
	}
}
