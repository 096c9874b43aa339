package history

import (
	"bufio"
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"math"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"sync"
	"time"

	"github.com/google/renameio/v2"

	"github.com/shardwise/shardwise/internal/fsutil"
)

// The store is JSON Lines: one Record per line, UTF-8, '\n'-terminated.
// Blank lines are skipped; unknown fields are ignored, so that newer
// writers stay readable.

// maxLine bounds one line of a history file, in bytes.
const maxLine = 16 << 20

// Load reads every record of the JSON Lines file at path. A missing file is
// an error (wrapping fs.ErrNotExist) that reads "read history PATH: ...". A
// bad line fails the whole load with an error that names path:line, and
// path:line:column for a syntax error.
func Load(path string) ([]Record, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, fileError(path, err)
	}
	defer f.Close()
	return Read(f, path)
}

// Read reads JSON Lines records from r; name labels errors (name:line).
func Read(r io.Reader, name string) ([]Record, error) {
	sc := bufio.NewScanner(r)
	sc.Buffer(make([]byte, 0, 64<<10), maxLine)
	var out []Record
	line := 0
	for sc.Scan() {
		line++
		b := bytes.TrimSpace(sc.Bytes())
		if len(b) == 0 {
			continue
		}
		var rec Record
		if err := json.Unmarshal(b, &rec); err != nil {
			lead := len(sc.Bytes()) - len(bytes.TrimLeft(sc.Bytes(), " \t\r\n"))
			return nil, decodeError(name, line, lead, err)
		}
		if err := rec.Check(); err != nil {
			return nil, fmt.Errorf("%s:%d: %w", name, line, err)
		}
		out = append(out, rec)
	}
	if err := sc.Err(); err != nil {
		if errors.Is(err, bufio.ErrTooLong) {
			return nil, fmt.Errorf("%s:%d: line longer than %d MiB", name, line+1, maxLine>>20)
		}
		return nil, fileError(name, err)
	}
	return out, nil
}

// fileError prefixes err with "read history PATH", dropping the path an
// *fs.PathError repeats.
func fileError(path string, err error) error {
	var pe *fs.PathError
	if errors.As(err, &pe) {
		err = pe.Err
	}
	return fmt.Errorf("read history %s: %w", path, err)
}

// decodeError explains a JSON error of line (lead bytes of blank before
// the value) in the user's terms: the field and the kind of value it
// wants for a type mismatch, the line and column of a syntax error.
func decodeError(name string, line, lead int, err error) error {
	var te *json.UnmarshalTypeError
	var se *json.SyntaxError
	switch {
	case errors.As(err, &te):
		field := te.Field
		if field == "" {
			return fmt.Errorf("%s:%d: want a JSON object, got %s", name, line, jsonValue(te.Value))
		}
		return fmt.Errorf("%s:%d: field %q: want %s, got %s", name, line, field, wantKind(te.Type), jsonValue(te.Value))
	case errors.As(err, &se):
		return fmt.Errorf("%s:%d:%d: %s", name, line, lead+int(se.Offset), se.Error())
	}
	return fmt.Errorf("%s:%d: %w", name, line, err)
}

// wantKind names, for a user, the JSON value a Go type is decoded from.
func wantKind(t reflect.Type) string {
	if t == nil {
		return "another kind of value"
	}
	switch t.Kind() {
	case reflect.Float32, reflect.Float64:
		return "a number"
	case reflect.Int, reflect.Int8, reflect.Int16, reflect.Int32, reflect.Int64,
		reflect.Uint, reflect.Uint8, reflect.Uint16, reflect.Uint32, reflect.Uint64:
		return "a whole number"
	case reflect.String:
		return "a string"
	case reflect.Bool:
		return "true or false"
	case reflect.Slice, reflect.Array:
		return "an array"
	case reflect.Map, reflect.Struct:
		return "an object"
	}
	return "a " + t.String()
}

// jsonValue names the JSON value json.UnmarshalTypeError.Value describes
// ("string", "number", "number 1.5", "bool", "array", "object").
func jsonValue(v string) string {
	switch {
	case v == "string":
		return "a string"
	case v == "number":
		return "a number"
	case strings.HasPrefix(v, "number "):
		return strings.TrimPrefix(v, "number ")
	case v == "bool":
		return "true or false"
	case v == "array":
		return "an array"
	case v == "object":
		return "an object"
	}
	return v
}

// Check reports the first field of r that no valid observation can have: an
// empty signature, a negative or non-finite runtime, size or CPU figure, or
// a runtime beyond a time.Duration (about 292 years).
func (r *Record) Check() error {
	if r.Signature == "" {
		return errors.New("record has no signature")
	}
	for _, f := range []struct {
		name string
		v    float64
	}{
		{"runtime_seconds", r.RuntimeSeconds}, {"cores", r.Cores}, {"cpu_percent", r.CPUPercent},
		{"cpu_peak_percent", r.CPUPeak}, {"cpu_ticks", r.CPUTicks}, {"cpu_mhz", r.CPUMHz},
		{"memory_bytes", float64(r.MemoryBytes)}, {"read_bytes", float64(r.ReadBytes)},
		{"written_bytes", float64(r.WriteBytes)}, {"input_bytes", float64(r.InputBytes)},
		{"shared_input_bytes", float64(r.SharedInputBytes)}, {"concurrency", float64(r.Concurrency)},
		{"output_bytes", float64(r.OutputBytes)}, {"gpus", float64(r.GPUs)},
		{"memory_limit_bytes", float64(r.MemoryLimitBytes)},
		{"predicted_runtime_seconds", r.PredictedRuntimeSeconds},
		{"predicted_memory_bytes", float64(r.PredictedMemoryBytes)},
		{"shard_tasks", float64(r.ShardTasks)}, {"shard_memory_bytes", float64(r.ShardMemoryBytes)},
	} {
		if f.v < 0 || math.IsNaN(f.v) || math.IsInf(f.v, 0) {
			return fmt.Errorf("record %q: %s = %g, must be a non-negative number", r.Task, f.name, f.v)
		}
	}
	for _, f := range []struct {
		name string
		v    float64
	}{{"runtime_seconds", r.RuntimeSeconds}, {"predicted_runtime_seconds", r.PredictedRuntimeSeconds}} {
		if f.v > maxSeconds {
			return fmt.Errorf("record %q: %s = %g, longer than a duration holds (about 292 years)", r.Task, f.name, f.v)
		}
	}
	return nil
}

// maxSeconds is the longest runtime a time.Duration holds (about 292
// years): the planner and simulator turn runtimes into durations, and a
// longer one left planning to fail on infinite times far from the record.
const maxSeconds = float64(math.MaxInt64) / float64(time.Second)

// writeMu serialises Write and Append within this process. Two processes
// writing one file at once may lose one's records (the last rename wins),
// but neither leaves a half-written file.
var writeMu sync.Mutex

// Write replaces the file at path with records, atomically: it writes a
// temporary file in the same directory, syncs it and renames it over path,
// so a reader sees either the old file or the whole new one.
func Write(path string, records []Record) error {
	writeMu.Lock()
	defer writeMu.Unlock()
	return replace(path, nil, records)
}

// Append adds records to the end of the file at path (creating it if
// missing), atomically as Write does: the existing bytes and the new lines
// go to a temporary file that is renamed over path.
func Append(path string, records []Record) error {
	writeMu.Lock()
	defer writeMu.Unlock()
	old, err := os.ReadFile(path)
	if err != nil && !errors.Is(err, fs.ErrNotExist) {
		return fmt.Errorf("append history: %w", err)
	}
	if len(old) > 0 && old[len(old)-1] != '\n' {
		old = append(old, '\n')
	}
	return replace(path, old, records)
}

// replace writes prefix then records as JSON Lines to a temporary file
// beside path (mode 0600), fsyncs it and renames it to path (renameio), so
// a reader sees the old file or the new one, never half of one.
func replace(path string, prefix []byte, records []Record) (err error) {
	for i := range records {
		if cerr := records[i].Check(); cerr != nil {
			return fmt.Errorf("write history %s: record %d: %w", path, i, cerr)
		}
	}
	tmp, err := renameio.NewPendingFile(path, renameio.WithTempDir(filepath.Dir(path)), renameio.WithStaticPermissions(0o600))
	if err != nil {
		return fmt.Errorf("write history: %w", err)
	}
	defer tmp.Cleanup() // a no-op once replaced
	w := bufio.NewWriter(tmp)
	w.Write(prefix)
	enc := json.NewEncoder(w)
	for i := range records {
		if err := enc.Encode(&records[i]); err != nil {
			return fmt.Errorf("write history %s: record %d: %w", path, i, err)
		}
	}
	if err := w.Flush(); err != nil {
		return fmt.Errorf("write history %s: %w", path, err)
	}
	if err := tmp.CloseAtomicallyReplace(); err != nil {
		return fmt.Errorf("write history %s: %w", path, err)
	}
	// A failed directory sync only weakens durability after a crash.
	_ = fsutil.SyncDir(filepath.Dir(path))
	return nil
}
