package feedback

import (
	"bytes"
	"encoding/json"
	"strings"
	"testing"

	"github.com/shardwise/shardwise/planner/history"
)

func TestReport(t *testing.T) {
	var recs []history.Record
	for i, rt := range []float64{100, 110, 90, 50, 200} { // predicted 100 each
		recs = append(recs, history.Record{Signature: "align", Executor: "cpu", RuntimeSeconds: rt,
			PredictedRuntimeSeconds: 100, MemoryBytes: int64(100+i) << 20, PredictedMemoryBytes: 200 << 20})
	}
	recs = append(recs,
		history.Record{Signature: "align", Executor: "cpu", RuntimeSeconds: 1, ExitCode: 137, OOMKilled: true,
			MemoryBytes: 200 << 20, PredictedMemoryBytes: 200 << 20},
		history.Record{Signature: "sort", RuntimeSeconds: 3}) // no predictions at all
	rows := Report(recs)
	if len(rows) != 2 || rows[0].Signature != "align" || rows[1].Signature != "sort" {
		t.Fatalf("rows %+v", rows)
	}
	a := rows[0]
	// APEs: 0, 9.09, 11.1, 100, 50 -> median 11.1, p90 80.
	if a.RuntimeN != 5 || a.Records != 6 || a.RuntimeMdAPE < 11.1 || a.RuntimeMdAPE > 11.2 || a.RuntimeP90APE != 80 {
		t.Errorf("runtime: %+v", a)
	}
	if a.MemoryN != 6 || a.MemoryUnderRate != 1.0/6 || a.OverProvision != 200.0/102 {
		t.Errorf("memory: %+v", a)
	}
	var buf bytes.Buffer
	if err := WriteReport(&buf, rows); err != nil {
		t.Fatal(err)
	}
	out := buf.String()
	for _, want := range []string{"SIGNATURE", "align", "cpu", "11.1%", "80.0%", "16.7%", "1.96x", "sort"} {
		if !strings.Contains(out, want) {
			t.Errorf("table lacks %q:\n%s", want, out)
		}
	}
	js, _ := json.Marshal(rows)
	if !strings.Contains(string(js), `"runtime_mdape_percent"`) {
		t.Errorf("json: %s", js)
	}
}
