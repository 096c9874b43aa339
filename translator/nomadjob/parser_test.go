package nomadjob

import (
	"bytes"
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"reflect"
	"sort"
	"strings"
	"testing"

	"github.com/hashicorp/nomad/api"

	"github.com/shardwise/shardwise/sdk"
)

// nomadBinary returns the real Nomad agent binary: $SHARDWISE_BIN/nomad, or
// .bin/nomad at the repository root (built by `make agents`). It skips the
// test under -short, or when the binary is missing outside CI; in CI a
// missing binary fails the test.
func nomadBinary(t *testing.T) string {
	t.Helper()
	if testing.Short() {
		t.Skip("skipping: -short skips tests that run the real Nomad binary")
	}
	dir := os.Getenv("SHARDWISE_BIN")
	if dir == "" {
		dir = filepath.Join("..", "..", ".bin")
	}
	bin, err := filepath.Abs(filepath.Join(dir, "nomad"))
	if err == nil {
		_, err = os.Stat(bin)
	}
	if err != nil {
		if os.Getenv("CI") != "" {
			t.Fatalf("Nomad binary not found (CI is set): %v; run `make agents` or set SHARDWISE_BIN", err)
		}
		t.Skipf("skipping: Nomad binary not found: %v; run `make agents` or set SHARDWISE_BIN to its folder", err)
	}
	return bin
}

// parseWithNomad runs `nomad job run -output FILE`, Nomad's own jobspec
// parser, which prints the job's register payload without contacting a
// server (NOMAD_ADDR points nowhere to make sure of that).
func parseWithNomad(t *testing.T, bin, file string) []byte {
	t.Helper()
	cmd := exec.Command(bin, "job", "run", "-output", file)
	cmd.Env = append(os.Environ(), "NOMAD_ADDR=http://127.0.0.1:1")
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	if err != nil {
		hcl, _ := os.ReadFile(file)
		t.Fatalf("nomad job run -output %s: %v\n%s\njobspec:\n%s", filepath.Base(file), err, stderr.String(), hcl)
	}
	return out
}

// TestNomadParserAgreement is the acceptance test for WriteHCL: for every
// job of the fixture (every placement feature, every driver), the HCL that
// WriteDir wrote, parsed by the real Nomad binary, must give the job that
// WriteDir wrote as JSON.
//
// Two checks: every value our JSON sets appears unchanged in the parser's
// output (nothing lost or altered, before any defaulting); and after both
// go through api.Job.Canonicalize, the jobs are equal (the parser added
// nothing we did not expect).
func TestNomadParserAgreement(t *testing.T) {
	bin := nomadBinary(t)
	for _, driver := range []string{sdk.DriverRawExec, sdk.DriverExec, sdk.DriverShard} {
		dir := filepath.Join(t.TempDir(), "jobs")
		jobs, err := Jobs(testPlan(), testGraph(t), testCatalog(), Options{Driver: driver})
		if err != nil {
			t.Fatal(err)
		}
		if err := WriteDir(dir, jobs, HCL|JSON); err != nil {
			t.Fatal(err)
		}
		for _, j := range jobs {
			t.Run(driver+"/"+*j.ID, func(t *testing.T) {
				t.Parallel()
				ours, err := os.ReadFile(filepath.Join(dir, *j.ID+JSONSuffix))
				if err != nil {
					t.Fatal(err)
				}
				theirs := parseWithNomad(t, bin, filepath.Join(dir, *j.ID+HCLSuffix))
				assertSubset(t, decodeAny(t, ours), decodeAny(t, theirs))
				assertCanonicalEqual(t, ours, theirs)
			})
		}
	}
}

// TestNomadParserAwkwardJob runs the agreement check on a job full of
// awkward strings, keys and config values (oddJobV161): escaping, quoted
// keys, nested and empty config values, every optional block.
func TestNomadParserAwkwardJob(t *testing.T) {
	bin := nomadBinary(t)
	j := oddJobV161()
	var hcl, js bytes.Buffer
	if err := WriteHCL(&hcl, j); err != nil {
		t.Fatal(err)
	}
	if err := WriteJSON(&js, j); err != nil {
		t.Fatal(err)
	}
	file := filepath.Join(t.TempDir(), "odd.nomad.hcl")
	if err := os.WriteFile(file, hcl.Bytes(), 0o644); err != nil {
		t.Fatal(err)
	}
	theirs := parseWithNomad(t, bin, file)
	assertSubset(t, decodeAny(t, js.Bytes()), decodeAny(t, theirs))
	assertCanonicalEqual(t, js.Bytes(), theirs)
}

// TestNomadParserConfigObjectIsList pins the one structural difference
// between a driver config in HCL and in JSON: Nomad's parser reads an
// object attribute at the top of config as a list holding the object (HCL1
// block semantics), while objects nested in lists stay objects. Jobs
// therefore writes split = [{...}]. If this test fails, Nomad changed and
// the wrapping can go.
func TestNomadParserConfigObjectIsList(t *testing.T) {
	bin := nomadBinary(t)
	j := &api.Job{ID: new("obj"), Type: new("batch"), TaskGroups: []*api.TaskGroup{{Name: new("g"),
		Tasks: []*api.Task{{Name: "t", Driver: "shard", Config: map[string]any{
			"top": map[string]any{"a": "1"}, "list": []any{map[string]any{"b": "2"}}}}}}}}
	var hcl bytes.Buffer
	if err := WriteHCL(&hcl, j); err != nil {
		t.Fatal(err)
	}
	file := filepath.Join(t.TempDir(), "obj.nomad.hcl")
	if err := os.WriteFile(file, hcl.Bytes(), 0o644); err != nil {
		t.Fatal(err)
	}
	var req struct{ Job *api.Job }
	if err := json.Unmarshal(parseWithNomad(t, bin, file), &req); err != nil {
		t.Fatal(err)
	}
	got := req.Job.TaskGroups[0].Tasks[0].Config
	want := map[string]any{"top": []any{map[string]any{"a": "1"}}, "list": []any{map[string]any{"b": "2"}}}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("parsed config = %v, want %v", got, want)
	}
}

// decodeAny decodes JSON into generic values.
func decodeAny(t *testing.T, data []byte) any {
	t.Helper()
	var v any
	if err := json.Unmarshal(data, &v); err != nil {
		t.Fatalf("decode %s: %v", data, err)
	}
	return v
}

// assertSubset fails for every value set in ours that theirs lacks or
// holds differently. Nulls in ours are unset; a zero value ours has and
// theirs lacks is a field newer than Nomad v1.6.1's API (e.g. Chown).
func assertSubset(t *testing.T, ours, theirs any) {
	t.Helper()
	var diffs []string
	subset("", ours, theirs, &diffs)
	if len(diffs) > 0 {
		t.Errorf("the parser lost or changed %d values we set:\n  %s", len(diffs), strings.Join(diffs, "\n  "))
	}
}

func subset(path string, ours, theirs any, diffs *[]string) {
	switch o := ours.(type) {
	case nil:
		return
	case map[string]any:
		tm, ok := theirs.(map[string]any)
		if !ok {
			*diffs = append(*diffs, fmt.Sprintf("%s: ours %v, parser %v", path, ours, theirs))
			return
		}
		for k, v := range o {
			tv, present := tm[k]
			if !present && isZero(v) {
				continue
			}
			subset(path+"."+k, v, tv, diffs)
		}
	case []any:
		tl, ok := theirs.([]any)
		if !ok || len(tl) != len(o) {
			*diffs = append(*diffs, fmt.Sprintf("%s: ours %v, parser %v", path, ours, theirs))
			return
		}
		for i := range o {
			subset(fmt.Sprintf("%s[%d]", path, i), o[i], tl[i], diffs)
		}
	default:
		if !reflect.DeepEqual(ours, theirs) {
			*diffs = append(*diffs, fmt.Sprintf("%s: ours %#v, parser %#v", path, ours, theirs))
		}
	}
}

func isZero(v any) bool {
	return v == nil || v == false || v == "" || v == float64(0)
}

// assertCanonicalEqual decodes both payloads into api.Job, canonicalizes
// both as the API client does before registering, and compares them.
func assertCanonicalEqual(t *testing.T, ours, theirs []byte) {
	t.Helper()
	a, b := canonical(t, ours), canonical(t, theirs)
	var diffs []string
	diffValues("", decodeAny(t, a), decodeAny(t, b), &diffs)
	if len(diffs) > 0 {
		t.Errorf("canonical jobs differ (ours vs parser) in %d places:\n  %s", len(diffs), strings.Join(diffs, "\n  "))
	}
}

func canonical(t *testing.T, payload []byte) []byte {
	t.Helper()
	var req struct{ Job *api.Job }
	if err := json.Unmarshal(payload, &req); err != nil {
		t.Fatalf("decode register payload: %v", err)
	}
	if req.Job == nil {
		t.Fatalf("payload has no Job: %s", payload)
	}
	req.Job.Canonicalize()
	out, err := json.Marshal(req.Job)
	if err != nil {
		t.Fatal(err)
	}
	return out
}

// diffValues lists every path where a and b differ.
func diffValues(path string, a, b any, diffs *[]string) {
	am, aok := a.(map[string]any)
	bm, bok := b.(map[string]any)
	if aok && bok {
		keys := map[string]bool{}
		for k := range am {
			keys[k] = true
		}
		for k := range bm {
			keys[k] = true
		}
		sorted := make([]string, 0, len(keys))
		for k := range keys {
			sorted = append(sorted, k)
		}
		sort.Strings(sorted)
		for _, k := range sorted {
			diffValues(path+"."+k, am[k], bm[k], diffs)
		}
		return
	}
	al, aok := a.([]any)
	bl, bok := b.([]any)
	if aok && bok && len(al) == len(bl) {
		for i := range al {
			diffValues(fmt.Sprintf("%s[%d]", path, i), al[i], bl[i], diffs)
		}
		return
	}
	if !reflect.DeepEqual(a, b) {
		*diffs = append(*diffs, fmt.Sprintf("%s: ours %#v, parser %#v", path, a, b))
	}
}
