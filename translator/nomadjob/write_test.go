package nomadjob

import (
	"bytes"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io/fs"
	"maps"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/hashicorp/hcl/v2/hclwrite"
	"github.com/hashicorp/nomad/api"

	"github.com/shardwise/shardwise/sdk"
)

var update = flag.Bool("update", false, "rewrite the golden files in testdata/")

// TestWriteHCLGolden pins the jobspec text of representative jobs: a
// fused raw_exec shard, a GPU shard, a split shard-driver job, and the
// fused producer as a shard-driver job (outputs with from_path).
func TestWriteHCLGolden(t *testing.T) {
	cases := []struct {
		driver, job, golden string
	}{
		{sdk.DriverRawExec, "demo-prep", "fused-raw_exec.nomad.hcl"},
		{sdk.DriverRawExec, "demo-train", "gpu-raw_exec.nomad.hcl"},
		{sdk.DriverShard, "demo-map", "split-shard.nomad.hcl"},
		{sdk.DriverShard, "demo-prep", "fused-shard.nomad.hcl"},
	}
	for _, c := range cases {
		t.Run(c.golden, func(t *testing.T) {
			var buf bytes.Buffer
			if err := WriteHCL(&buf, buildJobs(t, Options{Driver: c.driver})[c.job]); err != nil {
				t.Fatal(err)
			}
			if !bytes.Equal(hclwrite.Format(buf.Bytes()), buf.Bytes()) {
				t.Error("output is not hclwrite.Format-stable")
			}
			path := filepath.Join("testdata", c.golden)
			if *update {
				if err := os.WriteFile(path, buf.Bytes(), 0o644); err != nil {
					t.Fatal(err)
				}
			}
			want, err := os.ReadFile(path)
			if err != nil {
				t.Fatalf("%v (run go test -update to create it)", err)
			}
			if !bytes.Equal(buf.Bytes(), want) {
				t.Errorf("%s differs (go test -update rewrites it):\n%s", path, buf.Bytes())
			}
		})
	}
}

func TestWriteHCLRejects(t *testing.T) {
	j := buildJobs(t, Options{})["demo-prep"]
	j.TaskGroups[0].Tasks[0].Templates = []*api.Template{{Once: new(true)}}
	err := WriteHCL(&bytes.Buffer{}, j)
	if err == nil || !strings.Contains(err.Error(), `group "prep": task "prep": template: once is set`) {
		t.Errorf("err = %v, want one naming the template's once field", err)
	}
	if err := WriteHCL(&bytes.Buffer{}, &api.Job{}); err == nil {
		t.Error("job without ID accepted")
	}
	j = buildJobs(t, Options{})["demo-prep"]
	j.TaskGroups[0].Tasks[0].Config["bad"] = struct{}{}
	if err := WriteHCL(&bytes.Buffer{}, j); err == nil || !strings.Contains(err.Error(), "config: bad: unsupported value type") {
		t.Errorf("err = %v, want unsupported config value", err)
	}
	j.TaskGroups[0].Tasks[0].Config = map[string]any{"not-valid key": "x"}
	if err := WriteHCL(&bytes.Buffer{}, j); err == nil || !strings.Contains(err.Error(), "not an HCL identifier") {
		t.Errorf("err = %v, want invalid key", err)
	}
}

func TestWriteJSON(t *testing.T) {
	var buf bytes.Buffer
	if err := WriteJSON(&buf, buildJobs(t, Options{})["demo-prep"]); err != nil {
		t.Fatal(err)
	}
	if !strings.HasPrefix(buf.String(), "{\n  \"Job\": {\n    \"Region\": \"global\",") {
		t.Errorf("payload does not start with an indented Job:\n%.200s", buf.String())
	}
	var req struct{ Job *api.Job }
	if err := json.Unmarshal(buf.Bytes(), &req); err != nil {
		t.Fatal(err)
	}
	if d := *req.Job.TaskGroups[0].RestartPolicy.Interval; d.Minutes() != 10 {
		t.Errorf("restart interval round-trips as %s, want 10m", d)
	}
	if !strings.Contains(buf.String(), `"Operand": "="`) || strings.Contains(buf.String(), `\u003e`) {
		t.Error("operators should be written without HTML escaping")
	}
	if err := WriteJSON(&buf, nil); err == nil {
		t.Error("nil job accepted")
	}
}

func TestFormatDuration(t *testing.T) {
	for d, want := range map[string]string{"24h": "24h", "10m": "10m", "1h30m": "1h30m", "15s": "15s", "1.5s": "1.5s", "2h0m5s": "2h0m5s"} {
		pd, _ := parseDur(d)
		if got := formatDuration(pd); got != want {
			t.Errorf("formatDuration(%s) = %s, want %s", d, got, want)
		}
	}
}

func TestWriteDirNew(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "out", "jobs")
	jobs := jobList(t)
	if err := WriteDir(dir, jobs, HCL|JSON); err != nil {
		t.Fatal(err)
	}
	want := fileNames(jobs)
	if got := listDir(t, dir); !slices.Equal(got, want) {
		t.Errorf("files = %v, want %v", got, want)
	}
	if got := listDir(t, filepath.Dir(dir)); !slices.Equal(got, []string{"jobs"}) {
		t.Errorf("parent holds %v, want only jobs (no temp folder left)", got)
	}
	st, _ := os.Stat(dir)
	if st.Mode().Perm() != 0o755 {
		t.Errorf("dir mode = %v, want 0755", st.Mode().Perm())
	}
}

// TestWriteDirHCLOnly checks that WriteDir writes only NAME.nomad.hcl
// when JSON is not asked for, leaves an existing NAME.json alone, and
// refuses forms without HCL.
func TestWriteDirHCLOnly(t *testing.T) {
	dir := t.TempDir()
	jobs := jobList(t)
	old := *jobs[0].ID + JSONSuffix
	mustWrite(t, filepath.Join(dir, old), "earlier")
	if err := WriteDir(dir, jobs, HCL); err != nil {
		t.Fatal(err)
	}
	var want []string
	for _, j := range jobs {
		want = append(want, *j.ID+HCLSuffix)
	}
	want = append(want, old)
	slices.Sort(want)
	if got := listDir(t, dir); !slices.Equal(got, want) {
		t.Errorf("files = %v, want %v", got, want)
	}
	if b, _ := os.ReadFile(filepath.Join(dir, old)); string(b) != "earlier" {
		t.Errorf("%s changed", old)
	}
	if err := WriteDir(filepath.Join(t.TempDir(), "j"), jobs, JSON); err == nil {
		t.Error("JSON alone accepted")
	}
}

// TestReadMetaBothForms checks that ReadMeta reads every job's meta back
// from the HCL and the JSON file WriteDir wrote.
func TestReadMetaBothForms(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "jobs")
	jobs := jobList(t)
	if err := WriteDir(dir, jobs, HCL|JSON); err != nil {
		t.Fatal(err)
	}
	for _, j := range jobs {
		if len(j.Meta) == 0 {
			t.Fatalf("job %s has no meta", *j.ID)
		}
		for _, name := range (HCL | JSON).Files(*j.ID) {
			m, err := ReadMeta(filepath.Join(dir, name))
			if err != nil {
				t.Fatal(err)
			}
			if !maps.Equal(m, j.Meta) {
				t.Errorf("%s: meta %v, want %v", name, m, j.Meta)
			}
		}
	}
	mustWrite(t, filepath.Join(dir, "x.nomad.hcl"), "job \"x\" {\n  meta {\n    a = var.b\n  }\n}\n")
	if _, err := ReadMeta(filepath.Join(dir, "x.nomad.hcl")); err == nil {
		t.Error("a meta value that is not a literal string accepted")
	}
}

func TestWriteDirKeepsOtherFiles(t *testing.T) {
	dir := t.TempDir()
	jobs := jobList(t)
	mustWrite(t, filepath.Join(dir, "README"), "mine")
	mustWrite(t, filepath.Join(dir, "demo-prep.json"), "stale")
	if err := WriteDir(dir, jobs, HCL|JSON); err != nil {
		t.Fatal(err)
	}
	want := append(fileNames(jobs), "README")
	slices.Sort(want)
	if got := listDir(t, dir); !slices.Equal(got, want) {
		t.Errorf("files = %v, want %v", got, want)
	}
	if b, _ := os.ReadFile(filepath.Join(dir, "README")); string(b) != "mine" {
		t.Error("README changed")
	}
	if b, _ := os.ReadFile(filepath.Join(dir, "demo-prep.json")); string(b) == "stale" {
		t.Error("demo-prep.json not replaced")
	}
}

// TestWriteDirAllOrNothing fails the n-th rename for every n and checks
// that the folder is left exactly as it was each time.
func TestWriteDirAllOrNothing(t *testing.T) {
	jobs := jobList(t)
	for failAt := 1; ; failAt++ {
		dir := filepath.Join(t.TempDir(), "jobs")
		if err := os.Mkdir(dir, 0o755); err != nil {
			t.Fatal(err)
		}
		mustWrite(t, filepath.Join(dir, "README"), "mine")
		mustWrite(t, filepath.Join(dir, "demo-prep.json"), "old")
		before := snapshot(t, dir)
		calls := 0
		rename = func(a, b string) error {
			calls++
			if calls == failAt {
				return errors.New("injected rename failure")
			}
			return os.Rename(a, b)
		}
		err := WriteDir(dir, jobs, HCL|JSON)
		rename = os.Rename
		if err == nil {
			if failAt == 1 {
				t.Fatal("no rename happened")
			}
			return // every rename point has been tried
		}
		if !strings.Contains(err.Error(), "injected") {
			t.Fatalf("fail at rename %d: err = %v", failAt, err)
		}
		if after := snapshot(t, dir); !mapsEqual(before, after) {
			t.Fatalf("fail at rename %d: dir changed:\nbefore %v\nafter  %v", failAt, keys(before), keys(after))
		}
		if left := listDir(t, filepath.Dir(dir)); len(left) != 1 {
			t.Fatalf("fail at rename %d: temp folder left beside dir: %v", failAt, left)
		}
	}
}

// TestWriteDirRenderFailureWritesNothing checks that a job that cannot be
// rendered, after many that can (whose files are being written while it
// is rendered), fails the write with its error and leaves dir as it was:
// new or existing, no file added and no temporary folder left.
func TestWriteDirRenderFailureWritesNothing(t *testing.T) {
	jobs := manyJobs(t, 50)
	bad := jobList(t)[0]
	bad.ID = new("zz-bad")
	bad.TaskGroups[0].Tasks[0].Templates = []*api.Template{{Once: new(true)}}
	jobs = append(jobs, bad)
	for _, existing := range []bool{false, true} {
		parent := t.TempDir()
		dir := filepath.Join(parent, "jobs")
		if existing {
			if err := os.Mkdir(dir, 0o755); err != nil {
				t.Fatal(err)
			}
			mustWrite(t, filepath.Join(dir, "README"), "mine")
		}
		err := WriteDir(dir, jobs, HCL)
		if err == nil || !strings.Contains(err.Error(), "template: once is set") {
			t.Fatalf("existing %v: err = %v, want the bad job's", existing, err)
		}
		var want []string
		if existing {
			want = []string{"jobs"}
		}
		if got := listDir(t, parent); !slices.Equal(got, want) {
			t.Errorf("existing %v: parent holds %v, want %v", existing, got, want)
		}
		if existing {
			if got := listDir(t, dir); !slices.Equal(got, []string{"README"}) {
				t.Errorf("dir holds %v, want only README", got)
			}
		}
	}
}

// manyJobs is n copies of jobList's jobs under distinct IDs.
func manyJobs(t *testing.T, n int) []*api.Job {
	var jobs []*api.Job
	for i := range n {
		for _, j := range jobList(t) {
			j.ID = new(fmt.Sprintf("%s-%03d", *j.ID, i))
			jobs = append(jobs, j)
		}
	}
	return jobs
}

// TestWriteDirWriteFailureWritesNothing fails the creation of the first,
// a middle and the last file of 150 jobs (as a full disk or a quota
// would, while other files are being written) and checks that WriteDir
// returns that error and leaves the folder as it was, new or existing:
// no file added, no temporary folder left.
func TestWriteDirWriteFailureWritesNothing(t *testing.T) {
	jobs := manyJobs(t, 50)
	for _, forms := range []Forms{HCL, HCL | JSON} {
		files := len(jobs) * len(forms.Files(""))
		for _, failAt := range []int64{1, int64(files) / 2, int64(files)} {
			for _, existing := range []bool{false, true} {
				parent := t.TempDir()
				dir := filepath.Join(parent, "jobs")
				if existing {
					if err := os.Mkdir(dir, 0o755); err != nil {
						t.Fatal(err)
					}
					mustWrite(t, filepath.Join(dir, "README"), "mine")
				}
				var calls atomic.Int64
				writeNew = func(path string, data []byte) error {
					if calls.Add(1) == failAt {
						// Half the file, as a full disk leaves it.
						_ = createFile(path, data[:len(data)/2])
						return &fs.PathError{Op: "write", Path: path, Err: syscall.ENOSPC}
					}
					return createFile(path, data)
				}
				err := WriteDir(dir, jobs, forms)
				writeNew = createFile
				what := fmt.Sprintf("forms %d, fail at file %d of %d, existing %v", forms, failAt, files, existing)
				if !errors.Is(err, syscall.ENOSPC) {
					t.Fatalf("%s: err = %v, want the injected ENOSPC", what, err)
				}
				var want []string
				if existing {
					want = []string{"jobs"}
				}
				if got := listDir(t, parent); !slices.Equal(got, want) {
					t.Errorf("%s: parent holds %v, want %v", what, got, want)
				}
				if existing {
					if got := listDir(t, dir); !slices.Equal(got, []string{"README"}) {
						t.Errorf("%s: dir holds %v, want only README", what, got)
					}
				}
			}
		}
	}
}

// TestWriteFilesFirstErrorInJobOrder checks that with any number of
// goroutines the error returned is that of the first failing job in job
// order, whichever fails first: two jobs that cannot be rendered (jobs 5
// and 61 of 161), with 1 to 8 goroutines, 20 times each; then without
// the first.
func TestWriteFilesFirstErrorInJobOrder(t *testing.T) {
	jobs := manyJobs(t, 40)
	early, late := jobList(t)[0], jobList(t)[0]
	early.ID, late.ID = new("bad-early"), new("bad-late")
	early.TaskGroups[0].Tasks[0].Config["bad"] = struct{}{}
	late.TaskGroups[0].Tasks[0].Templates = []*api.Template{{Once: new(true)}}
	jobs = slices.Insert(jobs, 60, late)
	jobs = slices.Insert(jobs, 5, early) // late is now job 61
	if *jobs[5].ID != "bad-early" || *jobs[61].ID != "bad-late" {
		t.Fatalf("jobs 5 and 61 are %s and %s", *jobs[5].ID, *jobs[61].ID)
	}
	for n := 1; n <= 8; n++ {
		for range 20 {
			dir := t.TempDir()
			err := writeFiles(dir, jobs, HCL|JSON, n)
			if err == nil || !strings.Contains(err.Error(), "config: bad") {
				t.Fatalf("%d goroutines: err = %v, want bad-early's", n, err)
			}
		}
	}
	for n := 1; n <= 8; n++ {
		dir := t.TempDir()
		if err := writeFiles(dir, jobs[6:], HCL, n); err == nil || !strings.Contains(err.Error(), "once is set") {
			t.Fatalf("%d goroutines, without bad-early: err = %v, want bad-late's", n, err)
		}
	}
}

func TestWriteDirFailsCleanlyWhenNew(t *testing.T) {
	parent := t.TempDir()
	dir := filepath.Join(parent, "jobs")
	rename = func(string, string) error { return errors.New("injected") }
	defer func() { rename = os.Rename }()
	if err := WriteDir(dir, jobList(t), HCL|JSON); err == nil {
		t.Fatal("want an error")
	}
	if left := listDir(t, parent); len(left) != 0 {
		t.Errorf("parent holds %v after a failed write, want nothing", left)
	}
}

func TestWriteDirRejects(t *testing.T) {
	jobs := jobList(t)
	dup := append(slices.Clone(jobs), jobs[0])
	dir := t.TempDir()
	if err := WriteDir(dir, dup, HCL|JSON); err == nil || !strings.Contains(err.Error(), "duplicate job id") {
		t.Errorf("err = %v, want duplicate job id", err)
	}
	if err := os.Mkdir(filepath.Join(dir, "demo-prep.json"), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := WriteDir(dir, jobs, HCL|JSON); err == nil || !strings.Contains(err.Error(), "is a folder") {
		t.Errorf("err = %v, want a refusal to replace a folder", err)
	}
	file := filepath.Join(dir, "file")
	mustWrite(t, file, "x")
	if err := WriteDir(file, jobs, HCL|JSON); err == nil || !strings.Contains(err.Error(), "not a folder") {
		t.Errorf("err = %v, want not a folder", err)
	}
	if got := listDir(t, dir); !slices.Equal(got, []string{"demo-prep.json", "file"}) {
		t.Errorf("rejected writes left %v", got)
	}
}

func jobList(t *testing.T) []*api.Job {
	jobs, err := Jobs(testPlan(), testGraph(t), testCatalog(), Options{})
	if err != nil {
		t.Fatal(err)
	}
	return jobs
}

func fileNames(jobs []*api.Job) []string {
	var out []string
	for _, j := range jobs {
		out = append(out, *j.ID+HCLSuffix, *j.ID+JSONSuffix)
	}
	slices.Sort(out)
	return out
}

func listDir(t *testing.T, dir string) []string {
	t.Helper()
	es, err := os.ReadDir(dir)
	if err != nil {
		t.Fatal(err)
	}
	var out []string
	for _, e := range es {
		out = append(out, e.Name())
	}
	return out
}

func snapshot(t *testing.T, dir string) map[string]string {
	t.Helper()
	out := map[string]string{}
	for _, name := range listDir(t, dir) {
		b, err := os.ReadFile(filepath.Join(dir, name))
		if err != nil {
			t.Fatal(err)
		}
		out[name] = string(b)
	}
	return out
}

func mustWrite(t *testing.T, path, data string) {
	t.Helper()
	if err := os.WriteFile(path, []byte(data), 0o644); err != nil {
		t.Fatal(err)
	}
}

func mapsEqual(a, b map[string]string) bool {
	if len(a) != len(b) {
		return false
	}
	for k, v := range a {
		if bv, ok := b[k]; !ok || bv != v {
			return false
		}
	}
	return true
}

func keys(m map[string]string) []string {
	var out []string
	for k := range m {
		out = append(out, k)
	}
	slices.Sort(out)
	return out
}

func parseDur(s string) (d time.Duration, err error) { return time.ParseDuration(s) }

// TestIndentJSONMatchesEncodingJSON holds the fast indenter equal to
// json.Indent on every fixture job, the awkward job and edge cases.
func TestIndentJSONMatchesEncodingJSON(t *testing.T) {
	srcs := []string{`{}`, `[]`, `{"a":[]}`, `{"a":{},"b":[1,{"c":null}]}`, `"x\"y\\"`, `[true,false,-1.5e3]`,
		`{"k\"":"v,:{}[]\\\"","u":"\u2028"}`}
	for _, j := range append(jobList(t), oddJob()) {
		b, err := json.Marshal(registerRequest{Job: j})
		if err != nil {
			t.Fatal(err)
		}
		srcs = append(srcs, string(b))
	}
	for _, s := range srcs {
		var want bytes.Buffer
		if err := json.Indent(&want, []byte(s), "", "  "); err != nil {
			t.Fatalf("json.Indent(%.40s): %v", s, err)
		}
		if got := indentJSON(nil, []byte(s)); string(got) != want.String() {
			t.Errorf("indentJSON(%.60s) =\n%s\nwant\n%s", s, got, want.String())
		}
	}
}

// TestCreateFile checks createFile against os.WriteFile: the same bytes
// and mode; an existing file is an error, not truncated (WriteDir writes
// into a folder it has just made); errors name the path.
func TestCreateFile(t *testing.T) {
	dir := t.TempDir()
	a, b := filepath.Join(dir, "a"), filepath.Join(dir, "b")
	data := bytes.Repeat([]byte("job \"x\" {}\n"), 100_000) // 1.1 MB: more than one write may take
	if err := createFile(a, data); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(b, data, 0o644); err != nil {
		t.Fatal(err)
	}
	sa, _ := os.Stat(a)
	sb, _ := os.Stat(b)
	if got, _ := os.ReadFile(a); !bytes.Equal(got, data) || sa.Mode() != sb.Mode() {
		t.Errorf("%d bytes, mode %v; want %d bytes, mode %v", len(got), sa.Mode(), len(data), sb.Mode())
	}
	if err := createFile(a, []byte("short")); !errors.Is(err, os.ErrExist) || !strings.Contains(err.Error(), a) {
		t.Errorf("existing file: error %v, want exists naming %s", err, a)
	}
	if got, _ := os.ReadFile(a); !bytes.Equal(got, data) {
		t.Errorf("existing file changed to %d bytes", len(got))
	}
	if err := createFile(filepath.Join(dir, "empty"), nil); err != nil {
		t.Fatal(err)
	}
	if st, err := os.Stat(filepath.Join(dir, "empty")); err != nil || st.Size() != 0 {
		t.Errorf("empty file: %v, %v", st, err)
	}
	missing := filepath.Join(dir, "no", "such")
	if err := createFile(missing, data); !errors.Is(err, os.ErrNotExist) || !strings.Contains(err.Error(), missing) {
		t.Errorf("error %v, want not-exist naming %s", err, missing)
	}
}
