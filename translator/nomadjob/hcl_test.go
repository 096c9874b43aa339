package nomadjob

import (
	"bytes"
	"strings"
	"testing"
	"time"

	"github.com/hashicorp/hcl/v2/hclwrite"
	"github.com/hashicorp/nomad/api"
	"github.com/zclconf/go-cty/cty"

	"github.com/shardwise/shardwise/sdk"
)

// weird holds every kind of character quote escapes or keeps: tab, quote,
// backslash, template introducers, a control character, accented letters
// (precomposed and combining), an emoji and an invalid UTF-8 byte.
const weird = "tab\there \"q\" back\\slash ${x} %{y} $ % {} \x01 \u00e9 e\u0301 \U0001F600 \xff end"

// oddJob sets every field WriteHCL writes, with awkward strings, keys and
// config values, to exercise escaping and layout beyond what Jobs emits.
func oddJob() *api.Job {
	return &api.Job{
		ID: new("odd \"job\""), Name: new("other name"), Type: new("batch"), AllAtOnce: new(true),
		Constraints: []*api.Constraint{{LTarget: "${meta.rack}", Operand: "regexp", RTarget: `^r[0-9]+$`}},
		Reschedule:  &api.ReschedulePolicy{Attempts: new(0), Unlimited: new(false)},
		Meta:        map[string]string{"a.b": weird, "ключ": "v", "x": ""},
		TaskGroups: []*api.TaskGroup{{
			Name:          new("g/" + weird),
			Count:         new(2),
			EphemeralDisk: &api.EphemeralDisk{Sticky: new(true), Migrate: new(false), SizeMB: new(10)},
			RestartPolicy: &api.RestartPolicy{Delay: new(1500 * time.Millisecond), RenderTemplates: new(true)},
			Tasks: []*api.Task{{
				Name: "t", Driver: "shard", User: "nobody", Leader: true, KillTimeout: new(90 * time.Second),
				Config: map[string]any{
					"empty_list": []any{}, "empty_map": map[string]any{}, "f": 1.25, "n": int64(-3), "u": uint64(7),
					"b": true, "nested": []any{map[string]any{"deep": map[string]string{"k.k": "v", "z": "w"}, "l": []int64{1, 2}}, "s", int64(3)},
					"obj": map[string]any{"one": "1"},
				},
				Env:         map[string]string{"A": "1", "LONGER_NAME": "2"},
				Meta:        map[string]string{"m": weird},
				Constraints: []*api.Constraint{{Operand: "distinct_hosts", RTarget: "true"}},
				RestartPolicy: &api.RestartPolicy{Attempts: new(1), Mode: new("delay"),
					Interval: new(time.Hour + 30*time.Minute)},
				Artifacts: []*api.TaskArtifact{{GetterSource: new("git::https://x/y.git"), GetterMode: new("dir"),
					GetterInsecure: new(false), Chown: true, GetterHeaders: map[string]string{"X-Auth": "t"}}},
				Templates: []*api.Template{{EmbeddedTmpl: new("set -e\necho ${HOME} %{x} {{ y }} \"q\"\n"), DestPath: new("local/s.sh"),
					LeftDelim: new("[["), RightDelim: new("]]"), Perms: new("0755"), ChangeMode: new("noop")}},
				Resources: &api.Resources{Cores: new(2), MemoryMB: new(64), DiskMB: new(100), SecretsMB: new(1),
					Devices: []*api.RequestedDevice{{Name: "nvidia/gpu/" + weird, Count: new(uint64(1)),
						Affinities: []*api.Affinity{{LTarget: "${device.model}", Operand: "=", RTarget: "A100", Weight: new(int8(50))}}}}},
			}},
		}},
	}
}

// TestWriteHCLMatchesHCLWrite holds WriteHCL byte-for-byte equal to the
// hclwrite-based reference writer (hclref_test.go), and its output stable
// under hclwrite.Format, for every fixture job, a synthetic plan and a job
// full of awkward strings and values.
func TestWriteHCLMatchesHCLWrite(t *testing.T) {
	var jobs []*api.Job
	for _, d := range []string{sdk.DriverRawExec, sdk.DriverExec, sdk.DriverShard} {
		js, err := Jobs(testPlan(), testGraph(t), testCatalog(), Options{Driver: d})
		if err != nil {
			t.Fatal(err)
		}
		jobs = append(jobs, js...)
	}
	p, g := synthetic(t, 50)
	for _, d := range []string{sdk.DriverRawExec, sdk.DriverShard} {
		js, err := Jobs(p, g, testCatalog(), Options{Driver: d})
		if err != nil {
			t.Fatal(err)
		}
		jobs = append(jobs, js...)
	}
	jobs = append(jobs, oddJob())
	for _, j := range jobs {
		var ours, ref bytes.Buffer
		if err := WriteHCL(&ours, j); err != nil {
			t.Fatalf("%s: %v", *j.ID, err)
		}
		if err := refWriteHCL(&ref, j); err != nil {
			t.Fatalf("%s: reference: %v", *j.ID, err)
		}
		if !bytes.Equal(ours.Bytes(), ref.Bytes()) {
			t.Errorf("%s: WriteHCL differs from hclwrite at line %d:\n--- ours\n%s\n--- hclwrite\n%s", *j.ID,
				firstDiffLine(ours.String(), ref.String()), ours.String(), ref.String())
		}
		if f := hclwrite.Format(ours.Bytes()); !bytes.Equal(f, ours.Bytes()) {
			t.Errorf("%s: output changes under hclwrite.Format", *j.ID)
		}
	}
}

// oddJobV161 is oddJob without what Nomad v1.6.1's parser does not know
// (render_templates, artifact insecure and chown, resources secrets), with
// weird in Unicode normal form C (the HCL parser normalizes strings through
// cty.StringVal, the JSON decoder does not) and with top-level config maps
// wrapped in a list, the two known differences between the forms.
func oddJobV161() *api.Job {
	j := oddJob()
	nfc := cty.StringVal(weird).AsString()
	replace := func(m map[string]string) {
		for k, v := range m {
			m[k] = strings.ReplaceAll(v, weird, nfc)
		}
	}
	g := j.TaskGroups[0]
	t := g.Tasks[0]
	replace(j.Meta)
	replace(t.Meta)
	*g.Name = strings.ReplaceAll(*g.Name, weird, nfc)
	t.Resources.Devices[0].Name = strings.ReplaceAll(t.Resources.Devices[0].Name, weird, nfc)
	g.RestartPolicy.RenderTemplates = nil
	t.Artifacts[0].GetterInsecure, t.Artifacts[0].Chown = nil, false
	t.Resources.SecretsMB = nil
	t.Config["weird"] = []any{nfc, map[string]any{"k": nfc}}
	// A map at the top of a config reads back as a list holding it
	// (TestNomadParserConfigObjectIsList); write that form.
	for k, v := range t.Config {
		if m, ok := v.(map[string]any); ok {
			t.Config[k] = []any{m}
		}
	}
	t.Env["odd key"] = nfc
	return j
}

func firstDiffLine(a, b string) int {
	al, bl := strings.Split(a, "\n"), strings.Split(b, "\n")
	for i := range min(len(al), len(bl)) {
		if al[i] != bl[i] {
			return i + 1
		}
	}
	return min(len(al), len(bl)) + 1
}
