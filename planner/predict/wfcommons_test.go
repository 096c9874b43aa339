package predict

import (
	"encoding/json"
	"fmt"
	"math"
	"os"
	"path/filepath"
	"regexp"
	"sort"
	"testing"

	"github.com/shardwise/shardwise/internal/testutil"
	"github.com/shardwise/shardwise/planner/catalog"
	"github.com/shardwise/shardwise/planner/graph"
	"github.com/shardwise/shardwise/planner/history"
)

// wfInstance is the minimal part of a WfFormat 1.5 file the test reads.
type wfInstance struct {
	Workflow struct {
		Specification struct {
			Tasks []struct {
				ID          string   `json:"id"`
				Name        string   `json:"name"`
				InputFiles  []string `json:"inputFiles"`
				OutputFiles []string `json:"outputFiles"`
			} `json:"tasks"`
			Files []struct {
				ID          string `json:"id"`
				SizeInBytes int64  `json:"sizeInBytes"`
			} `json:"files"`
		} `json:"specification"`
		Execution struct {
			Tasks []struct {
				ID      string  `json:"id"`
				Runtime float64 `json:"runtimeInSeconds"`
				Command *struct {
					Program string `json:"program"`
				} `json:"command"`
				AvgCPU  float64 `json:"avgCPU"`
				Memory  int64   `json:"memoryInBytes"`
				Read    int64   `json:"readBytes"`
				Written int64   `json:"writtenBytes"`
			} `json:"tasks"`
		} `json:"execution"`
	} `json:"workflow"`
}

var idSuffix = regexp.MustCompile(`_ID\d+$`)

// traceRecords converts one WfFormat 1.5 file into history records: the
// signature is the program (else the name without its _ID suffix), the
// input size the sum of the task's input files.
func traceRecords(t *testing.T, path string) []history.Record {
	t.Helper()
	raw, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	var wf wfInstance
	if err := json.Unmarshal(raw, &wf); err != nil {
		t.Fatalf("%s: %v", path, err)
	}
	size := map[string]int64{}
	for _, f := range wf.Workflow.Specification.Files {
		size[f.ID] = f.SizeInBytes
	}
	type spec struct {
		name    string
		in, out int64
	}
	specs := map[string]spec{}
	for _, st := range wf.Workflow.Specification.Tasks {
		s := spec{name: idSuffix.ReplaceAllString(st.Name, "")}
		for _, f := range st.InputFiles {
			s.in += size[f]
		}
		for _, f := range st.OutputFiles {
			s.out += size[f]
		}
		specs[st.ID] = s
	}
	var recs []history.Record
	for _, et := range wf.Workflow.Execution.Tasks {
		s := specs[et.ID]
		sig := s.name
		if et.Command != nil && et.Command.Program != "" {
			sig = et.Command.Program
		}
		recs = append(recs, history.Record{Task: et.ID, Signature: sig, RuntimeSeconds: et.Runtime,
			CPUPercent: et.AvgCPU, MemoryBytes: et.Memory, ReadBytes: et.Read, WriteBytes: et.Written,
			InputBytes: s.in, OutputBytes: s.out, Source: "wfcommons:" + filepath.Base(path)})
	}
	return recs
}

// TestTraceHeldOut fits on real runs and predicts held-out executions of a
// repeated task type (every fourth one), reporting the median absolute
// percentage error (MdAPE) of the runtime on the reference class. The size
// model must beat the signature's plain median where inputs vary.
func TestTraceHeldOut(t *testing.T) {
	tracesDir := testutil.Traces(t)
	cases := []struct {
		sig      string
		files    []string
		maxMdAPE float64
	}{
		// BWA at three scales: input 0.38 MB and 3.9 MB per task.
		{"bwa", []string{"runs/bwa-chameleon-small-001.json", "runs/bwa-chameleon-medium-001.json", "bwa-chameleon-large-001.json"}, 0.45},
		// Seismology deconvolution: 1000 tasks, inputs 2 kB to 32 kB.
		{"sG1IterDecon", []string{"seismology-chameleon-1000p-001.json"}, 0.5},
		// 1000Genome frequency across two runs.
		{"frequency", []string{"runs/1000genome-chameleon-2ch-100k-001.json", "1000genome-chameleon-8ch-100k-001.json"}, 0.15},
	}
	for _, tc := range cases {
		t.Run(tc.sig, func(t *testing.T) {
			var all []history.Record
			for _, f := range tc.files {
				all = append(all, traceRecords(t, filepath.Join(tracesDir, f))...)
			}
			train, test := holdOut(all, tc.sig)
			if len(test) < 10 {
				t.Fatalf("only %d held-out %s tasks", len(test), tc.sig)
			}
			model, base := heldOutErrors(t, train, test)
			fit, _ := mustNew(t, train).Fit(tc.sig, graph.KindCPU)
			t.Logf("%s: %d training records (all types) / %d held out, MdAPE %.1f%% (signature median: %.1f%%), regression %v coef %v, uncertainty %.2f",
				tc.sig, len(train), len(test), 100*model, 100*base, fit.Regression, fit.Coef, fit.Uncertainty)
			if model > tc.maxMdAPE {
				t.Errorf("MdAPE %.3f above %.3f", model, tc.maxMdAPE)
			}
			if fit.Regression && model > base+1e-9 {
				t.Errorf("size model (%.3f) worse than the median (%.3f)", model, base)
			}
		})
	}
}

// holdOut moves every fourth record of sig to the test set.
func holdOut(all []history.Record, sig string) (train, test []history.Record) {
	k := 0
	for _, r := range all {
		if r.Signature == sig {
			k++
			if k%4 == 0 {
				test = append(test, r)
				continue
			}
		}
		train = append(train, r)
	}
	return train, test
}

func mustNew(t testing.TB, recs []history.Record) *Predictor {
	t.Helper()
	p, err := New(catalog.Default(), recs)
	if err != nil {
		t.Fatal(err)
	}
	return p
}

// heldOutErrors predicts each test record as a task of its input size and
// returns the MdAPE of the model and of the training median.
func heldOutErrors(t *testing.T, train, test []history.Record) (model, base float64) {
	p := mustNew(t, train)
	g := graph.New("held-out")
	for i, r := range test {
		if err := g.AddTask(&graph.Task{Name: fmt.Sprintf("t%d", i), Signature: r.Signature, InputBytes: r.InputBytes}); err != nil {
			t.Fatal(err)
		}
	}
	tb, err := p.Predict(g)
	if err != nil {
		t.Fatal(err)
	}
	ref := classIdx(t, tb, "cpu-heavy")
	var trainRT []float64
	for _, r := range train {
		if r.Signature == test[0].Signature {
			trainRT = append(trainRT, r.RuntimeSeconds)
		}
	}
	med := median(trainRT)
	var errs, baseErrs []float64
	for i, r := range test {
		actual := r.RuntimeSeconds
		if actual == 0 {
			actual = zeroRuntime // as the fit reads a 0 s record
		}
		n := tb.At(i, ref)
		if n.Runtime.Source != FromHistory || n.Runtime.N != len(trainRT) {
			t.Fatalf("runtime source %s N %d, want history N %d", n.Runtime.Source, n.Runtime.N, len(trainRT))
		}
		errs = append(errs, math.Abs(n.Runtime.Value-actual)/actual)
		baseErrs = append(baseErrs, math.Abs(med-actual)/actual)
	}
	sort.Float64s(errs)
	return median(errs), median(baseErrs)
}
