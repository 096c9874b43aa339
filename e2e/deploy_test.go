package e2e

import (
	"bytes"
	"encoding/json"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/hashicorp/nomad/api"
)

// TestDeployFilesParseWithRealNomad checks examples/deploy with the real
// Nomad v1.6.1 binary, so that the files cannot rot: both job files parse
// (`nomad job run -output`, no server), the client snippet validates
// (`nomad config validate`), and they agree with each other and with
// Shardwise's flags (host volume name, plugin_dir, the feedback command).
func TestDeployFilesParseWithRealNomad(t *testing.T) {
	nomad := agentBin(t, "nomad")
	dir := filepath.Join(repoRoot, "examples", "deploy")

	fb := parseJobVars(t, nomad, filepath.Join(dir, "feedback.nomad.hcl"))
	if fb.Type == nil || *fb.Type != api.JobTypeService || len(fb.TaskGroups) != 1 {
		t.Fatalf("feedback job: type %v with %d groups, want one service group", fb.Type, len(fb.TaskGroups))
	}
	g := fb.TaskGroups[0]
	if g.Count == nil || *g.Count != 1 {
		t.Errorf("feedback group count %v, want 1 (one store writer)", g.Count)
	}
	vol, ok := g.Volumes["history"]
	if !ok || vol.Type != "host" || vol.Source != "shardwise-history" || vol.ReadOnly {
		t.Errorf("feedback history volume = %+v, want writable host volume shardwise-history", vol)
	}
	if len(g.Services) != 1 || g.Services[0].PortLabel != "metrics" || len(g.Services[0].Checks) != 1 ||
		g.Services[0].Checks[0].Type != "http" || g.Services[0].Checks[0].Path != "/metrics" ||
		!slices.Contains(g.Services[0].Tags, "prometheus") {
		t.Errorf("feedback service = %+v, want one on port metrics with an http check of /metrics, tagged prometheus", g.Services)
	}
	task := g.Tasks[0]
	if task.Driver == "raw_exec" {
		t.Errorf("feedback task driver raw_exec: Nomad refuses host volumes for it (no mount support)")
	}
	// Without shardwise_url the task runs the installed binary; with it,
	// the checked artifact under local/.
	if cmd := toString(task.Config["command"]); cmd != `"/usr/local/bin/shardwise"` || len(task.Artifacts) != 0 {
		t.Errorf("feedback task without shardwise_url: command %s with %d artifacts, want /usr/local/bin/shardwise and none", cmd, len(task.Artifacts))
	}
	if task.User != "nobody" {
		t.Errorf("feedback task user %q, want nobody (exec's default, documented)", task.User)
	}
	fetched := parseJobVars(t, nomad, filepath.Join(dir, "feedback.nomad.hcl"),
		"shardwise_url=https://releases.example.com/shardwise", "shardwise_checksum=sha256:00").TaskGroups[0].Tasks[0]
	if cmd := toString(fetched.Config["command"]); cmd != `"local/shardwise"` || len(fetched.Artifacts) != 1 ||
		*fetched.Artifacts[0].GetterSource != "https://releases.example.com/shardwise" ||
		*fetched.Artifacts[0].RelativeDest != "local/shardwise" || fetched.Artifacts[0].GetterOptions["checksum"] != "sha256:00" {
		t.Errorf("feedback task with shardwise_url: command %s, artifacts %s; want local/shardwise fetched from the URL with its checksum",
			cmd, toString(fetched.Artifacts))
	}
	args := toString(task.Config["args"])
	for _, want := range []string{`"feedback"`, `"-history-db","/var/lib/shardwise/history.db"`, `"-metrics-addr","${NOMAD_ADDR_metrics}"`} {
		if !strings.Contains(args, want) {
			t.Errorf("feedback args %s lack %s", args, want)
		}
	}
	if len(task.VolumeMounts) != 1 || *task.VolumeMounts[0].Volume != "history" || *task.VolumeMounts[0].Destination != "/var/lib/shardwise" {
		t.Errorf("feedback volume_mount = %+v", task.VolumeMounts)
	}
	// The feedback command's flags exist: its help lists them.
	_, help, _ := shardwise(t, "feedback", "-h")
	for _, f := range []string{"-history-db", "-metrics-addr"} {
		if !strings.Contains(help, f) {
			t.Errorf("shardwise feedback -h does not list %s", f)
		}
	}

	inst := parseJobVars(t, nomad, filepath.Join(dir, "driver-install.nomad.hcl"),
		"driver_url=https://releases.example.com/nomad-driver-shard", "driver_checksum=sha256:00")
	if inst.Type == nil || *inst.Type != api.JobTypeSysbatch {
		t.Errorf("driver install job type %v, want sysbatch", inst.Type)
	}
	it := inst.TaskGroups[0].Tasks[0]
	if len(it.Artifacts) != 1 || *it.Artifacts[0].GetterSource != "https://releases.example.com/nomad-driver-shard" ||
		it.Artifacts[0].GetterOptions["checksum"] != "sha256:00" {
		t.Errorf("driver install artifact = %+v, want the driver_url with its checksum", it.Artifacts)
	}
	script := toString(it.Config["args"])
	if !strings.Contains(script, "/opt/nomad/plugins/nomad-driver-shard") {
		t.Errorf("driver install script does not write /opt/nomad/plugins/nomad-driver-shard:\n%s", script)
	}
	// Without the required variables the job is refused, not run with a
	// made-up URL.
	if out, err := exec.Command(nomad, "job", "run", "-output", filepath.Join(dir, "driver-install.nomad.hcl")).CombinedOutput(); err == nil {
		t.Errorf("driver install job parsed without driver_url:\n%s", out)
	}

	client := filepath.Join(dir, "client.hcl")
	if out, err := exec.Command(nomad, "config", "validate", client).CombinedOutput(); err != nil {
		t.Errorf("nomad config validate %s: %v\n%s", client, err, out)
	}
	b, err := os.ReadFile(client)
	if err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{`host_volume "shardwise-history"`, `plugin_dir = "/opt/nomad/plugins"`, `plugin "nomad-driver-shard"`} {
		if !strings.Contains(string(b), want) {
			t.Errorf("client.hcl lacks %s", want)
		}
	}
}

// parseJobVars runs `nomad job run -output` on spec with -var NAME=VALUE
// for each of vars, against no server, and decodes the job.
func parseJobVars(t *testing.T, nomad, spec string, vars ...string) *api.Job {
	t.Helper()
	args := []string{"job", "run", "-output"}
	for _, v := range vars {
		args = append(args, "-var", v)
	}
	cmd := exec.Command(nomad, append(args, spec)...)
	cmd.Env = append(os.Environ(), "NOMAD_ADDR=http://127.0.0.1:1")
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	if err := cmd.Run(); err != nil {
		t.Fatalf("nomad job run -output %s: %v\n%s", filepath.Base(spec), err, stderr.String())
	}
	var payload struct{ Job *api.Job }
	if err := json.Unmarshal(stdout.Bytes(), &payload); err != nil || payload.Job == nil {
		t.Fatalf("decode nomad output for %s: %v\n%s", spec, err, stdout.String())
	}
	return payload.Job
}

func toString(v any) string {
	b, _ := json.Marshal(v)
	return string(b)
}
