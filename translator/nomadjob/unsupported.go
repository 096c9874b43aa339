package nomadjob

import (
	"fmt"

	"github.com/hashicorp/nomad/api"
)

// field is a jobspec field and whether a job sets it.
type field struct {
	name string
	set  bool
}

// firstSet returns an error naming the first field that is set.
func firstSet(where string, fs []field) error {
	for _, f := range fs {
		if f.set {
			return fmt.Errorf("%s%s is set but WriteHCL cannot write it", where, f.name)
		}
	}
	return nil
}

// unsupported returns an error naming the first field of j that WriteHCL
// does not write, so that no setting is dropped without notice.
func unsupported(j *api.Job) error {
	err := firstSet("", []field{
		{"affinity", len(j.Affinities) > 0}, {"spread", len(j.Spreads) > 0},
		{"update", j.Update != nil}, {"multiregion", j.Multiregion != nil},
		{"periodic", j.Periodic != nil}, {"parameterized", j.ParameterizedJob != nil},
		{"migrate", j.Migrate != nil}, {"ui", j.UI != nil},
	})
	if err != nil {
		return err
	}
	for _, g := range j.TaskGroups {
		if g == nil {
			continue
		}
		if err := unsupportedGroup(g); err != nil {
			return err
		}
	}
	return nil
}

// unsupportedGroup checks a group and its tasks.
func unsupportedGroup(g *api.TaskGroup) error {
	where := fmt.Sprintf("group %q: ", deref(g.Name))
	err := firstSet(where, []field{
		{"affinity", len(g.Affinities) > 0}, {"spread", len(g.Spreads) > 0},
		{"volume", len(g.Volumes) > 0}, {"network", len(g.Networks) > 0},
		{"service", len(g.Services) > 0}, {"update", g.Update != nil},
		{"migrate", g.Migrate != nil}, {"scaling", g.Scaling != nil},
		{"consul", g.Consul != nil}, {"disconnect", g.Disconnect != nil},
		{"shutdown_delay", g.ShutdownDelay != nil}, {"max_run_duration", g.MaxRunDuration != nil},
		{"stop_after_client_disconnect", g.StopAfterClientDisconnect != nil},
		{"max_client_disconnect", g.MaxClientDisconnect != nil},
		{"prevent_reschedule_on_lost", g.PreventRescheduleOnLost != nil},
	})
	if err != nil {
		return err
	}
	for _, t := range g.Tasks {
		if t == nil {
			continue
		}
		if err := unsupportedTask(where, t); err != nil {
			return err
		}
	}
	return nil
}

// unsupportedTask checks a task.
func unsupportedTask(where string, t *api.Task) error {
	res := t.Resources
	if res == nil {
		res = &api.Resources{}
	}
	err := firstSet(fmt.Sprintf("%stask %q: ", where, t.Name), []field{
		{"lifecycle", t.Lifecycle != nil}, {"affinity", len(t.Affinities) > 0},
		{"service", len(t.Services) > 0}, {"logs", t.LogConfig != nil},
		{"vault", t.Vault != nil}, {"consul", t.Consul != nil},
		{"dispatch_payload", t.DispatchPayload != nil},
		{"volume_mount", len(t.VolumeMounts) > 0}, {"csi_plugin", t.CSIPluginConfig != nil},
		{"shutdown_delay", t.ShutdownDelay != 0}, {"kill_signal", t.KillSignal != ""},
		{"kind", t.Kind != ""}, {"scaling", len(t.ScalingPolicies) > 0},
		{"secret", len(t.Secrets) > 0}, {"identity", t.Identity != nil || len(t.Identities) > 0},
		{"action", len(t.Actions) > 0}, {"schedule", t.Schedule != nil},
		{"resources.network", len(res.Networks) > 0}, {"resources.numa", res.NUMA != nil},
		{"resources.iops", res.IOPS != nil},
	})
	if err != nil {
		return err
	}
	for _, tm := range t.Templates {
		if err := unsupportedTemplate(fmt.Sprintf("%stask %q: template: ", where, t.Name), tm); err != nil {
			return err
		}
	}
	return nil
}

// unsupportedTemplate checks a template block.
func unsupportedTemplate(where string, t *api.Template) error {
	if t == nil {
		return fmt.Errorf("%sis nil", where)
	}
	return firstSet(where, []field{
		{"change_script", t.ChangeScript != nil}, {"change_signal", t.ChangeSignal != nil},
		{"once", t.Once != nil}, {"splay", t.Splay != nil}, {"uid", t.Uid != nil}, {"gid", t.Gid != nil},
		{"env", t.Envvars != nil}, {"vault_grace", t.VaultGrace != nil}, {"wait", t.Wait != nil},
		{"error_on_missing_key", t.ErrMissingKey != nil},
	})
}

// deref returns *p, or "" for nil.
func deref(p *string) string {
	if p == nil {
		return ""
	}
	return *p
}
