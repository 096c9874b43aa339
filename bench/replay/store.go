package replay

import (
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"time"

	"github.com/klauspost/compress/gzip"
)

// Measurements is what one bench measured, stored (Save) so that the
// report and the calibration can be evaluated again without running the
// cluster again (Load; `cmd/benchreplay -from`).
type Measurements struct {
	// Measured is when the bench ended (UTC); Args its command-line
	// flags; Cluster the cluster it ran on, in words; Elapsed its wall
	// time.
	Measured time.Time
	Args     []string
	Cluster  string
	Elapsed  time.Duration
	// Runs are the trace runs, with the plans that ran and every shard's
	// Nomad timestamps; Scale the launcher-scale runs.
	Runs  []*Run
	Scale []Throughput
}

// Save writes m to path as gzip-compressed JSON. It writes a temporary
// file next to path and renames it, so path is either the old file or the
// whole new one.
func (m *Measurements) Save(path string) error {
	tmp, err := os.CreateTemp(filepath.Dir(path), filepath.Base(path)+".*")
	if err != nil {
		return fmt.Errorf("save measurements: %w", err)
	}
	defer os.Remove(tmp.Name()) // no-op after the rename
	zw := gzip.NewWriter(tmp)
	enc := json.NewEncoder(zw)
	if err := enc.Encode(m); err != nil {
		tmp.Close()
		return fmt.Errorf("save measurements to %s: %w", path, err)
	}
	if err := zw.Close(); err != nil {
		tmp.Close()
		return fmt.Errorf("save measurements to %s: %w", path, err)
	}
	if err := tmp.Close(); err != nil {
		return fmt.Errorf("save measurements to %s: %w", path, err)
	}
	if err := os.Chmod(tmp.Name(), 0o644); err != nil { // CreateTemp makes it 0600
		return fmt.Errorf("save measurements: %w", err)
	}
	if err := os.Rename(tmp.Name(), path); err != nil {
		return fmt.Errorf("save measurements: %w", err)
	}
	return nil
}

// LoadMeasurements reads what Save wrote. A run without its plan, or with
// a stored catalog (Run.Catalog) that does not parse, is an error: the
// calibrated simulations need both.
func LoadMeasurements(path string) (*Measurements, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, fmt.Errorf("load measurements: %w", err)
	}
	defer f.Close()
	zr, err := gzip.NewReader(f)
	if err != nil {
		return nil, fmt.Errorf("load measurements %s: not gzip: %w", path, err)
	}
	var m Measurements
	if err := json.NewDecoder(zr).Decode(&m); err != nil {
		return nil, fmt.Errorf("load measurements %s: %w", path, err)
	}
	for i, r := range m.Runs {
		if r == nil || r.Plan == nil {
			return nil, fmt.Errorf("load measurements %s: run %d has no plan", path, i)
		}
		if _, err := r.PlannedCatalog(nil); err != nil {
			return nil, fmt.Errorf("load measurements %s: run %d: %w", path, i, err)
		}
	}
	return &m, nil
}
