package nomadjob

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"runtime"
	"sync"
	"sync/atomic"
	"syscall"

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
	names, err := jobFileNames(jobs, forms)
	if err != nil {
		return fmt.Errorf("write dir %s: %w", dir, err)
	}
	exists, err := checkTarget(dir, names)
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
	if err := renderFiles(tmp, jobs, forms); err != nil {
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
	if err := moveIn(tmp, dir, names); err != nil {
		return fmt.Errorf("write dir %s: %w", dir, err)
	}
	return nil
}

// jobFileNames returns the names of every job's files in forms, in job
// order, rejecting duplicate or unsafe job IDs.
func jobFileNames(jobs []*api.Job, forms Forms) ([]string, error) {
	seen := make(map[string]bool, len(jobs))
	names := make([]string, 0, len(forms.Files(""))*len(jobs))
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
		names = append(names, forms.Files(id)...)
	}
	return names, nil
}

// rendered is one job's files once rendered, or the error rendering it;
// done is closed when it is set.
type rendered struct {
	done      chan struct{}
	hcl, json []byte
	err       error
}

// renderFiles renders every job's files in forms and writes them into
// dir: jobs are rendered on all cores, in job order, while this goroutine
// writes each job's files as soon as they are ready, so that rendering
// (CPU) overlaps creating the files (the kernel's time, most of it: see
// docs/benchmarks.md). It returns the error of the first job, in job
// order, that could not be rendered or written; files already written
// stay in dir, which the caller discards.
func renderFiles(dir string, jobs []*api.Job, forms Forms) error {
	out := make([]rendered, len(jobs))
	for i := range out {
		out[i].done = make(chan struct{})
	}
	var next atomic.Int64
	var stop atomic.Bool
	var wg sync.WaitGroup
	defer wg.Wait()
	defer stop.Store(true)
	for range min(runtime.GOMAXPROCS(0), len(jobs)) {
		wg.Go(func() {
			for !stop.Load() {
				i := int(next.Add(1) - 1)
				if i >= len(jobs) {
					return
				}
				out[i].hcl, out[i].json, out[i].err = renderJob(jobs[i], forms)
				close(out[i].done)
			}
		})
	}
	for i, j := range jobs {
		r := &out[i]
		<-r.done
		if r.err != nil {
			return r.err
		}
		if err := writeNew(filepath.Join(dir, *j.ID+HCLSuffix), r.hcl); err != nil {
			return err
		}
		if r.json != nil {
			if err := writeNew(filepath.Join(dir, *j.ID+JSONSuffix), r.json); err != nil {
				return err
			}
		}
		r.hcl, r.json = nil, nil // written: free for the collector
	}
	return nil
}

// writeNew creates the file at path, mode 0644 less the umask, and writes
// data to it; tests replace it to inject failures.
var writeNew = createFile

// createFile creates a new file at path, mode 0644 less the umask, and
// writes data to it in three system calls (open, write, close), where
// os.WriteFile makes eight: os.OpenFile offers every file to the runtime's
// poller, which refuses regular files (fcntl twice, epoll_ctl, fcntl
// twice), and os.NewFile asks for the descriptor's flags (fcntl). A job
// folder has a file per job, 9,855 for 10,000 tasks. O_EXCL: WriteDir
// writes into a folder it has just made, under names it has checked to be
// unique, so an existing file is a bug to report, not a file to truncate.
func createFile(path string, data []byte) error {
	fd, err := syscall.Open(path, syscall.O_WRONLY|syscall.O_CREAT|syscall.O_EXCL|syscall.O_CLOEXEC, 0o644)
	if err != nil {
		return &fs.PathError{Op: "open", Path: path, Err: err}
	}
	for len(data) > 0 {
		n, werr := syscall.Write(fd, data)
		if werr == syscall.EINTR {
			continue
		}
		if werr == nil && n == 0 {
			werr = io.ErrShortWrite
		}
		if werr != nil {
			err = &fs.PathError{Op: "write", Path: path, Err: werr}
			break
		}
		data = data[n:]
	}
	if cerr := syscall.Close(fd); cerr != nil && err == nil {
		err = &fs.PathError{Op: "close", Path: path, Err: cerr}
	}
	return err
}

// renderJob renders job j as HCL and, in forms, as JSON.
func renderJob(j *api.Job, forms Forms) (hcl, json []byte, err error) {
	var buf bytes.Buffer
	if err := WriteHCL(&buf, j); err != nil {
		return nil, nil, err
	}
	hcl = buf.Bytes()
	if forms&JSON == 0 {
		return hcl, nil, nil
	}
	var jb bytes.Buffer
	if err := WriteJSON(&jb, j); err != nil {
		return nil, nil, err
	}
	return hcl, jb.Bytes(), nil
}

// checkTarget reports whether dir exists, and returns an error if it is not
// a folder or if one of the file names is a folder in it (replacing it would
// discard its contents).
func checkTarget(dir string, names []string) (bool, error) {
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
	for _, name := range names {
		st, err := os.Lstat(filepath.Join(dir, name))
		if err == nil && st.IsDir() {
			return false, fmt.Errorf("%s is a folder", name)
		}
	}
	return true, nil
}

// moveIn renames each file from tmp into dir, first moving any file it
// replaces into tmp/.old. On error it undoes every step taken, so dir is as
// before.
func moveIn(tmp, dir string, names []string) error {
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
	for _, name := range names {
		dst := filepath.Join(dir, name)
		backup := filepath.Join(old, name)
		switch err := rename(dst, backup); {
		case err == nil:
			undo = append(undo, func() { _ = rename(backup, dst) })
		case !errors.Is(err, fs.ErrNotExist):
			rollback()
			return err
		}
		if err := rename(filepath.Join(tmp, name), dst); err != nil {
			rollback()
			return err
		}
		undo = append(undo, func() { _ = os.Remove(dst) })
	}
	return nil
}
