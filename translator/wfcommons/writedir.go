package wfcommons

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"sort"
	"strings"

	"github.com/shardwise/shardwise/translator/hclwriter"
)

// Files WriteDir writes.
const (
	GraphFile   = "graph.hcl"
	HistoryFile = "history.jsonl"
	NoticeFile  = "NOTICE"
)

// WriteDir writes res into dir: GraphFile (hclwriter.Write of res.Graph),
// HistoryFile (one JSON history.Record a line), NoticeFile (where the data
// come from and under which licence) and a copy of each licence file found
// next to the trace (see licenceFiles).
//
// It is all-or-nothing: the files are written to a temporary directory
// beside dir, which then replaces dir. dir's parent must exist. If dir
// exists it must be a directory holding only files WriteDir writes (a
// previous import); it is replaced whole. On any error nothing is left
// behind and an existing dir is unchanged.
func WriteDir(dir string, res *Result) (err error) {
	dir = filepath.Clean(dir)
	if err := checkTarget(dir); err != nil {
		return err
	}
	tmp, err := os.MkdirTemp(filepath.Dir(dir), "."+filepath.Base(dir)+".tmp-")
	if err != nil {
		return fmt.Errorf("write %s: %w", dir, err)
	}
	defer func() {
		if err != nil {
			os.RemoveAll(tmp)
		}
	}()
	if err := writeAll(tmp, res); err != nil {
		return fmt.Errorf("write %s: %w", dir, err)
	}
	if err := os.Chmod(tmp, 0o755); err != nil {
		return fmt.Errorf("write %s: %w", dir, err)
	}
	return replaceDir(tmp, dir)
}

// writeAll writes every file of res into dir.
func writeAll(dir string, res *Result) error {
	var graph bytes.Buffer
	if err := hclwriter.Write(&graph, res.Graph); err != nil {
		return err
	}
	if err := writeFile(filepath.Join(dir, GraphFile), graph.Bytes()); err != nil {
		return err
	}
	hist, err := historyLines(res)
	if err != nil {
		return err
	}
	if err := writeFile(filepath.Join(dir, HistoryFile), hist); err != nil {
		return err
	}
	licences, err := licenceFiles(res.Path)
	if err != nil {
		return err
	}
	for _, src := range licences {
		if err := copyFile(src, filepath.Join(dir, filepath.Base(src))); err != nil {
			return err
		}
	}
	return writeFile(filepath.Join(dir, NoticeFile), []byte(notice(res, licences)))
}

// historyLines encodes the records as JSON lines.
func historyLines(res *Result) ([]byte, error) {
	var buf bytes.Buffer
	enc := json.NewEncoder(&buf)
	enc.SetEscapeHTML(false)
	for i := range res.Records {
		if err := enc.Encode(&res.Records[i]); err != nil {
			return nil, fmt.Errorf("encode record %d (task %s): %w", i, res.Records[i].Task, err)
		}
	}
	return buf.Bytes(), nil
}

// writeFile writes data to a new file and syncs it.
func writeFile(path string, data []byte) error {
	f, err := os.OpenFile(path, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o644)
	if err != nil {
		return err
	}
	return closeAfter(f, func() error {
		if _, err := f.Write(data); err != nil {
			return fmt.Errorf("write %s: %w", path, err)
		}
		return f.Sync()
	})
}

func copyFile(src, dst string) error {
	in, err := os.Open(src)
	if err != nil {
		return fmt.Errorf("copy licence: %w", err)
	}
	defer in.Close()
	out, err := os.OpenFile(dst, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o644)
	if err != nil {
		return fmt.Errorf("copy licence: %w", err)
	}
	return closeAfter(out, func() error {
		if _, err := io.Copy(out, in); err != nil {
			return fmt.Errorf("copy licence %s: %w", src, err)
		}
		return out.Sync()
	})
}

// closeAfter runs fn and closes f, returning the first error.
func closeAfter(f *os.File, fn func() error) error {
	err := fn()
	if cerr := f.Close(); err == nil && cerr != nil {
		err = fmt.Errorf("close %s: %w", f.Name(), cerr)
	}
	return err
}

// checkTarget accepts a dir that does not exist, or a directory holding
// only files WriteDir writes.
func checkTarget(dir string) error {
	entries, err := os.ReadDir(dir)
	if errors.Is(err, fs.ErrNotExist) {
		parent := filepath.Dir(dir)
		if _, perr := os.Stat(parent); perr != nil {
			if errors.Is(perr, fs.ErrNotExist) {
				return fmt.Errorf("write %s: the folder %s does not exist; create it first", dir, parent)
			}
			return fmt.Errorf("write %s: folder %s: %w", dir, parent, unwrapPath(perr))
		}
		return nil
	}
	if err != nil {
		return fmt.Errorf("write %s: %w", dir, err)
	}
	for _, e := range entries {
		if !e.Type().IsRegular() || !ownFile(e.Name()) {
			return fmt.Errorf("write %s: refusing to replace a directory holding %q, which WriteDir does not write", dir, e.Name())
		}
	}
	return nil
}

// unwrapPath returns a *fs.PathError's cause, whose path the caller's
// message already names, or err itself.
func unwrapPath(err error) error {
	var pe *fs.PathError
	if errors.As(err, &pe) {
		return pe.Err
	}
	return err
}

func ownFile(name string) bool {
	return name == GraphFile || name == HistoryFile || name == NoticeFile || isLicenceName(name)
}

// replaceDir moves tmp to dir, replacing an existing dir; if that fails the
// old dir is restored.
func replaceDir(tmp, dir string) error {
	if _, err := os.Lstat(dir); errors.Is(err, fs.ErrNotExist) {
		if err := os.Rename(tmp, dir); err != nil {
			return fmt.Errorf("write %s: %w", dir, err)
		}
		return nil
	}
	old := tmp + ".old"
	if err := os.Rename(dir, old); err != nil {
		return fmt.Errorf("write %s: move old directory aside: %w", dir, err)
	}
	if err := os.Rename(tmp, dir); err != nil {
		if rerr := os.Rename(old, dir); rerr != nil {
			return fmt.Errorf("write %s: %w (and restoring the old directory from %s failed: %v)", dir, err, old, rerr)
		}
		return fmt.Errorf("write %s: %w", dir, err)
	}
	if err := os.RemoveAll(old); err != nil {
		return fmt.Errorf("write %s: written, but removing the old directory %s failed: %w", dir, old, err)
	}
	return nil
}

// isLicenceName reports whether a file name looks like a licence text.
func isLicenceName(name string) bool {
	n := strings.ToUpper(name)
	return strings.HasPrefix(n, "LICENSE") || strings.HasPrefix(n, "LICENCE") || strings.HasPrefix(n, "COPYING")
}

// licenceFiles returns the licence texts for the trace at path, sorted: the
// regular files named LICENSE*, LICENCE* or COPYING* in the trace's
// directory; if there are none, those in the parent directory whose names
// mention WfCommons, WfInstances or makeflow-instances (traces kept in a
// subfolder of the collection they came from). An empty path yields none.
func licenceFiles(path string) ([]string, error) {
	if path == "" {
		return nil, nil
	}
	dir := filepath.Dir(path)
	own, err := licencesIn(dir, func(string) bool { return true })
	if err != nil || len(own) > 0 {
		return own, err
	}
	return licencesIn(filepath.Dir(dir), func(name string) bool {
		n := strings.ToLower(name)
		return strings.Contains(n, "wfcommons") || strings.Contains(n, "wfinstances") || strings.Contains(n, "makeflow-instances")
	})
}

func licencesIn(dir string, keep func(string) bool) ([]string, error) {
	entries, err := os.ReadDir(dir)
	if err != nil {
		if errors.Is(err, fs.ErrNotExist) {
			return nil, nil
		}
		return nil, fmt.Errorf("look for licence files: %w", err)
	}
	var out []string
	for _, e := range entries {
		if e.Type().IsRegular() && isLicenceName(e.Name()) && keep(e.Name()) {
			out = append(out, filepath.Join(dir, e.Name()))
		}
	}
	sort.Strings(out)
	return out, nil
}

// licenceName is the licence a file's name announces, or "".
func licenceName(file string) string {
	n := strings.ToUpper(filepath.Base(file))
	for _, l := range []string{"LGPL-3.0", "AGPL-3.0", "GPL-3.0", "LGPL-2.1", "GPL-2.0", "MIT", "APACHE-2.0", "BSD-3-CLAUSE"} {
		if strings.Contains(n, l) {
			return l
		}
	}
	return ""
}

// notice is the NOTICE text for res with the given licence files.
func notice(res *Result, licences []string) string {
	var b strings.Builder
	fmt.Fprintf(&b, "The files in this directory were generated by Shardwise from the WfCommons\n")
	fmt.Fprintf(&b, "workflow trace %s (WfFormat %s, workflow %q", filepath.Base(res.Path), res.Schema, res.Name)
	if res.RuntimeSystem != "" {
		fmt.Fprintf(&b, ", recorded by %s", res.RuntimeSystem)
	}
	fmt.Fprintf(&b, ").\n%s and %s derive from that trace, a recording published by the\n", GraphFile, HistoryFile)
	fmt.Fprintf(&b, "WfCommons project (https://wfcommons.org).\n\n")
	if len(licences) == 0 {
		fmt.Fprintf(&b, "No licence file sat next to the trace. WfCommons publishes its traces under\n")
		fmt.Fprintf(&b, "LGPL-3.0 (wfcommons/WfInstances) or GPL-3.0 (wfcommons/makeflow-instances);\n")
		fmt.Fprintf(&b, "keep the licence of the collection the trace came from with these files.\n")
		return b.String()
	}
	for _, l := range licences {
		name := licenceName(l)
		if name == "" {
			name = "the licence"
		}
		fmt.Fprintf(&b, "The trace is distributed under %s; the licence text is in %s.\n", name, filepath.Base(l))
	}
	fmt.Fprintf(&b, "Keep the licence text with any copy of these files.\n")
	return b.String()
}
