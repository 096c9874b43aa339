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

// renderFiles renders every job's files in forms and creates them in dir,
// from a goroutine per core (writeFiles).
func renderFiles(dir string, jobs []*api.Job, forms Forms) error {
	return writeFiles(dir, jobs, forms, runtime.GOMAXPROCS(0))
}

// writeFiles renders every job's files in forms and creates them in dir
// from n goroutines, each taking the next job in order, rendering it into
// buffers it reuses and creating its files: rendering (CPU) overlaps the
// kernel's creation of other files, and no rendered file waits in memory
// for a writer (at 100,000 tasks peak RSS 2.06 → 1.59 GB). Linux
// serialises creations in one folder (the folder's lock is held for the
// lookup and the new entry), so this is not faster than one writer on two
// cores, only lighter; see docs/benchmarks.md.
//
// It returns the error of the first job, in job order, that could not be
// rendered or written, whatever the timing: no goroutine takes a job
// after one that failed, and every job before it was taken earlier and is
// finished. Files already written stay in dir, which the caller discards.
func writeFiles(dir string, jobs []*api.Job, forms Forms, n int) error {
	var next atomic.Int64
	var failed atomic.Int64 // the lowest index of a job that failed
	failed.Store(int64(len(jobs)))
	var mu sync.Mutex
	var first error
	var wg sync.WaitGroup
	for range min(n, len(jobs)) {
		wg.Go(func() {
			var hcl, js bytes.Buffer
			for {
				i := next.Add(1) - 1
				if i >= int64(len(jobs)) || i > failed.Load() {
					return
				}
				if err := writeJob(dir, jobs[i], forms, &hcl, &js); err != nil {
					mu.Lock()
					if i < failed.Load() {
						failed.Store(i)
						first = err
					}
					mu.Unlock()
				}
			}
		})
	}
	wg.Wait()
	return first
}

// writeJob renders job j's files in forms into hcl and js (reset first)
// and creates them in dir.
func writeJob(dir string, j *api.Job, forms Forms, hcl, js *bytes.Buffer) error {
	hcl.Reset()
	if err := WriteHCL(hcl, j); err != nil {
		return err
	}
	if err := writeNew(filepath.Join(dir, *j.ID+HCLSuffix), hcl.Bytes()); err != nil {
		return err
	}
	if forms&JSON == 0 {
		return nil
	}
	js.Reset()
	if err := WriteJSON(js, j); err != nil {
		return err
	}
	return writeNew(filepath.Join(dir, *j.ID+JSONSuffix), js.Bytes())
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
