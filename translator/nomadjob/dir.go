package nomadjob

import (
	"bytes"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"runtime"
	"sync"
	"sync/atomic"

	"github.com/hashicorp/nomad/api"
)

// File name suffixes WriteDir uses: <job ID>.nomad.hcl and <job ID>.json.
const (
	HCLSuffix  = ".nomad.hcl"
	JSONSuffix = ".json"
)

// Forms are the files WriteDir writes for each job.
type Forms uint8

const (
	// HCL is <job ID>.nomad.hcl (WriteHCL), what `nomad job run` takes.
	HCL Forms = 1 << iota
	// JSON is <job ID>.json (WriteJSON), the /v1/jobs payload (`nomad job
	// run -json`).
	JSON
)

// Files returns the names of the files forms gives job id.
func (f Forms) Files(id string) []string {
	var names []string
	if f&HCL != 0 {
		names = append(names, id+HCLSuffix)
	}
	if f&JSON != 0 {
		names = append(names, id+JSONSuffix)
	}
	return names
}

// rename is os.Rename; tests replace it to inject failures.
var rename = os.Rename

// outFile is one rendered file.
type outFile struct {
	name string
	data []byte
}

// WriteDir writes <job ID>.nomad.hcl (WriteHCL) and, in forms, <job
// ID>.json (WriteJSON) for each job into dir, all or nothing: every file is first
// rendered and written into a temporary folder beside dir, then moved in.
// If dir does not exist it is created by renaming that folder; otherwise
// only the jobs' files are added or replaced and other files are left
// alone. On any error dir is left as it was: files already moved in are
// removed and replaced files restored. Files are mode 0644; they are not
// fsynced, so all-or-nothing holds against errors, not power loss.
//
// Forms without HCL are an error: the HCL file is every job's; the JSON
// file, twice its size, is written only on request, since each file
// created costs more than rendering it (docs/benchmarks.md).
//
// It returns an error for duplicate or unsafe job IDs, a job WriteHCL
// cannot write, a dir that is not a folder, a job file name in dir that is
// a folder, and any file system error, wrapped with the path.
func WriteDir(dir string, jobs []*api.Job, forms Forms) error {
	if forms&HCL == 0 {
		return fmt.Errorf("write dir %s: no HCL job files requested", dir)
	}
	files, err := render(jobs, forms)
	if err != nil {
		return fmt.Errorf("write dir %s: %w", dir, err)
	}
	exists, err := checkTarget(dir, files)
	if err != nil {
		return fmt.Errorf("write dir %s: %w", dir, err)
	}
	parent := filepath.Dir(filepath.Clean(dir))
	if err := os.MkdirAll(parent, 0o755); err != nil {
		return fmt.Errorf("write dir %s: %w", dir, err)
	}
	tmp, err := os.MkdirTemp(parent, "."+filepath.Base(dir)+".tmp-")
	if err != nil {
		return fmt.Errorf("write dir %s: %w", dir, err)
	}
	defer os.RemoveAll(tmp)
	if err := writeFiles(tmp, files); err != nil {
		return fmt.Errorf("write dir %s: %w", dir, err)
	}
	if !exists {
		if err := os.Chmod(tmp, 0o755); err != nil {
			return fmt.Errorf("write dir %s: %w", dir, err)
		}
		if err := rename(tmp, dir); err != nil {
			return fmt.Errorf("write dir %s: %w", dir, err)
		}
		return nil
	}
	if err := moveIn(tmp, dir, files); err != nil {
		return fmt.Errorf("write dir %s: %w", dir, err)
	}
	return nil
}

// render produces every job's files in forms in memory, rejecting
// duplicate or unsafe job IDs. Jobs are rendered on all cores: a plan of
// 10,000 tasks can have as many shards.
func render(jobs []*api.Job, forms Forms) ([]outFile, error) {
	seen := make(map[string]bool, len(jobs))
	for i, j := range jobs {
		if j == nil || j.ID == nil {
			return nil, fmt.Errorf("job #%d has no ID", i)
		}
		id := *j.ID
		if err := checkJobID(id); err != nil {
			return nil, err
		}
		if seen[id] {
			return nil, fmt.Errorf("duplicate job id %q", id)
		}
		seen[id] = true
	}
	per := len(forms.Files(""))
	files := make([]outFile, per*len(jobs))
	err := forEach(len(jobs), runtime.GOMAXPROCS(0), func(i int) error {
		j := jobs[i]
		var buf bytes.Buffer
		if err := WriteHCL(&buf, j); err != nil {
			return err
		}
		files[per*i] = outFile{*j.ID + HCLSuffix, bytes.Clone(buf.Bytes())}
		if forms&JSON == 0 {
			return nil
		}
		buf.Reset()
		if err := WriteJSON(&buf, j); err != nil {
			return err
		}
		files[per*i+1] = outFile{*j.ID + JSONSuffix, buf.Bytes()}
		return nil
	})
	if err != nil {
		return nil, err
	}
	return files, nil
}

// forEach calls fn(0) ... fn(n-1) on up to workers goroutines and returns
// the error of the lowest index that failed, so the error does not depend
// on scheduling.
func forEach(n, workers int, fn func(i int) error) error {
	errs := make([]error, n)
	var next atomic.Int64
	var wg sync.WaitGroup
	for range min(workers, n) {
		wg.Go(func() {
			for {
				i := int(next.Add(1) - 1)
				if i >= n {
					return
				}
				errs[i] = fn(i)
			}
		})
	}
	wg.Wait()
	return firstError(errs)
}

func firstError(errs []error) error {
	for _, err := range errs {
		if err != nil {
			return err
		}
	}
	return nil
}

// checkTarget reports whether dir exists, and returns an error if it is not
// a folder or if one of the file names is a folder in it (replacing it would
// discard its contents).
func checkTarget(dir string, files []outFile) (bool, error) {
	st, err := os.Stat(dir)
	if errors.Is(err, fs.ErrNotExist) {
		return false, nil
	}
	if err != nil {
		return false, err
	}
	if !st.IsDir() {
		return false, fmt.Errorf("not a folder")
	}
	for _, f := range files {
		st, err := os.Lstat(filepath.Join(dir, f.name))
		if err == nil && st.IsDir() {
			return false, fmt.Errorf("%s is a folder", f.name)
		}
	}
	return true, nil
}

// writeFiles writes files into dir, one at a time. Creating files in one
// folder serialises on the folder's lock in the kernel: on the 2-vCPU
// machine of docs/benchmarks.md eight writers took twice the system time
// of one (11.7 s against 6.1 s for 19,704 files) and more wall time, and
// two the same as one.
func writeFiles(dir string, files []outFile) error {
	for _, f := range files {
		if err := os.WriteFile(filepath.Join(dir, f.name), f.data, 0o644); err != nil {
			return err
		}
	}
	return nil
}

// moveIn renames each file from tmp into dir, first moving any file it
// replaces into tmp/.old. On error it undoes every step taken, so dir is as
// before.
func moveIn(tmp, dir string, files []outFile) error {
	old := filepath.Join(tmp, ".old")
	if err := os.Mkdir(old, 0o700); err != nil {
		return err
	}
	var undo []func()
	rollback := func() {
		for i := len(undo) - 1; i >= 0; i-- {
			undo[i]()
		}
	}
	for _, f := range files {
		dst := filepath.Join(dir, f.name)
		backup := filepath.Join(old, f.name)
		switch err := rename(dst, backup); {
		case err == nil:
			undo = append(undo, func() { _ = rename(backup, dst) })
		case !errors.Is(err, fs.ErrNotExist):
			rollback()
			return err
		}
		if err := rename(filepath.Join(tmp, f.name), dst); err != nil {
			rollback()
			return err
		}
		undo = append(undo, func() { _ = os.Remove(dst) })
	}
	return nil
}
