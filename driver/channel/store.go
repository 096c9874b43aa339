package channel

import (
	"archive/tar"
	"bufio"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"hash"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"sort"
	"sync"
	"time"

	"github.com/shardwise/shardwise/driver/channel/registry"
	"github.com/shardwise/shardwise/internal/fsutil"
)

// Formats of a stored channel.
const (
	// FormatFile is a single file, stored as is.
	FormatFile = "file"
	// FormatTar is a directory, stored as a tar archive of its regular
	// files, directories and symbolic links (POSIX tar, paths relative to
	// the directory).
	FormatTar = "tar"
	// FormatStream is a stream served while it is produced; it is not stored.
	FormatStream = "stream"
)

// Entry describes one published channel.
type Entry struct {
	Graph   string `json:"graph"`
	Run     string `json:"run"`
	Shard   string `json:"shard"`
	Channel string `json:"channel"`
	// To is the consuming shard.
	To string `json:"to"`
	// Job and Alloc are the Nomad job and allocation that produced it.
	Job   string `json:"job,omitempty"`
	Alloc string `json:"alloc,omitempty"`
	// Format is FormatFile, FormatTar or FormatStream.
	Format string `json:"format"`
	// Size is the stored size in bytes (-1 for an open stream).
	Size int64 `json:"size"`
	// SHA256 is the hex SHA-256 of the stored bytes ("" for an open stream).
	SHA256    string    `json:"sha256"`
	Published time.Time `json:"published"`
	// Key is the run key (see RunKey). It is kept so that a restarted
	// plugin can serve what it published before; meta files are 0600.
	Key []byte `json:"key"`
}

// Store keeps published file and directory channels under a directory, so
// that they outlive the task directory they came from. Each channel is a
// folder holding "data" (the bytes served) and "meta.json" (its Entry).
// The bytes are copied, not hard-linked: a restarted task that rewrote its
// output in place would otherwise change bytes already published.
type Store struct {
	dir     string
	mu      sync.Mutex
	entries map[chanKey]Entry
}

type chanKey struct{ run, channel string }

// OpenStore opens (creating it with mode 0700 if needed) the store in dir
// and loads the channels a previous process published there; folders left
// half-written by a crash are removed.
func OpenStore(dir string) (*Store, error) {
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return nil, fmt.Errorf("open channel store: %w", err)
	}
	s := &Store{dir: dir, entries: map[chanKey]Entry{}}
	if err := s.load(); err != nil {
		return nil, fmt.Errorf("open channel store %s: %w", dir, err)
	}
	return s, nil
}

func (s *Store) load() error {
	names, err := os.ReadDir(s.dir)
	if err != nil {
		return err
	}
	for _, d := range names {
		p := filepath.Join(s.dir, d.Name())
		e, err := readEntry(p)
		if err != nil {
			if rmErr := os.RemoveAll(p); rmErr != nil {
				return rmErr
			}
			continue
		}
		s.entries[chanKey{e.Run, e.Channel}] = e
	}
	return nil
}

func readEntry(dir string) (Entry, error) {
	var e Entry
	b, err := os.ReadFile(filepath.Join(dir, "meta.json"))
	if err != nil {
		return e, err
	}
	if err := json.Unmarshal(b, &e); err != nil {
		return e, err
	}
	if _, err := os.Stat(filepath.Join(dir, "data")); err != nil {
		return e, err
	}
	return e, nil
}

// folder returns the store folder of a channel: readable names plus a hash
// of the exact names, so that distinct channels never share a folder.
func (s *Store) folder(run, channel string) string {
	h := sha256.Sum256([]byte(run + "\x00" + channel))
	return filepath.Join(s.dir, safeName(run)+"."+safeName(channel)+"."+hex.EncodeToString(h[:6]))
}

// Publish copies src (a file, or a directory stored as FormatTar) into the
// store as channel (e.Run, e.Channel), computing its size and SHA-256, and
// returns the completed entry. Publishing a channel again replaces it.
func (s *Store) Publish(e Entry, src string) (Entry, error) {
	fi, err := os.Stat(src)
	if err != nil {
		return e, fmt.Errorf("publish channel %s: %w", e.Channel, err)
	}
	dir := s.folder(e.Run, e.Channel)
	tmp := dir + ".tmp"
	if err := os.RemoveAll(tmp); err != nil {
		return e, fmt.Errorf("publish channel %s: %w", e.Channel, err)
	}
	if err := os.MkdirAll(tmp, 0o700); err != nil {
		return e, fmt.Errorf("publish channel %s: %w", e.Channel, err)
	}
	e.Format = FormatFile
	if fi.IsDir() {
		e.Format = FormatTar
	}
	if e.Size, e.SHA256, err = writeData(filepath.Join(tmp, "data"), src, e.Format); err != nil {
		os.RemoveAll(tmp)
		return e, fmt.Errorf("publish channel %s from %s: %w", e.Channel, src, err)
	}
	e.Published = time.Now().UTC()
	if err := s.commit(e, tmp, dir); err != nil {
		os.RemoveAll(tmp)
		return e, fmt.Errorf("publish channel %s: %w", e.Channel, err)
	}
	return e, nil
}

// commit writes meta.json into tmp and renames tmp over dir.
func (s *Store) commit(e Entry, tmp, dir string) error {
	b, err := json.MarshalIndent(e, "", "  ")
	if err != nil {
		return err
	}
	if err := writeFileSync(filepath.Join(tmp, "meta.json"), b, 0o600); err != nil {
		return err
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if err := os.RemoveAll(dir); err != nil {
		return err
	}
	if err := os.Rename(tmp, dir); err != nil {
		return err
	}
	if err := fsutil.SyncDir(s.dir); err != nil {
		return err
	}
	s.entries[chanKey{e.Run, e.Channel}] = e
	return nil
}

// writeData writes src into dst in the given format and returns its size in
// bytes and hex SHA-256; it also writes the block CRCs (crcFileName, next
// to dst). Both files are fsynced.
func writeData(dst, src, format string) (int64, string, error) {
	f, err := os.OpenFile(dst, os.O_CREATE|os.O_EXCL|os.O_WRONLY, 0o600)
	if err != nil {
		return 0, "", err
	}
	defer f.Close()
	cf, err := os.OpenFile(filepath.Join(filepath.Dir(dst), crcFileName), os.O_CREATE|os.O_EXCL|os.O_WRONLY, 0o600)
	if err != nil {
		return 0, "", err
	}
	defer cf.Close()
	cbuf := bufio.NewWriter(cf)
	crcs := newCRCBlockWriter(cbuf)
	h := sha256.New()
	cw := &countWriter{w: io.MultiWriter(f, h, crcs)}
	if format == FormatTar {
		err = writeTar(cw, src)
	} else {
		err = copyFile(cw, src)
	}
	if err != nil {
		return 0, "", err
	}
	if err := crcs.finish(); err != nil {
		return 0, "", err
	}
	if err := cbuf.Flush(); err != nil {
		return 0, "", err
	}
	for _, f := range []*os.File{f, cf} {
		if err := f.Sync(); err != nil {
			return 0, "", err
		}
		if err := f.Close(); err != nil {
			return 0, "", err
		}
	}
	return cw.n, hex.EncodeToString(h.Sum(nil)), nil
}

func copyFile(w io.Writer, src string) error {
	in, err := os.Open(src)
	if err != nil {
		return err
	}
	defer in.Close()
	buf := make([]byte, 1<<20)
	_, err = io.CopyBuffer(w, in, buf)
	return err
}

// writeTar archives the tree under root into w, in name order so that the
// same tree always gives the same bytes (modification times are kept).
func writeTar(w io.Writer, root string) error {
	tw := tar.NewWriter(w)
	err := filepath.WalkDir(root, func(p string, d fs.DirEntry, err error) error {
		if err != nil || p == root {
			return err
		}
		return addTarEntry(tw, root, p, d)
	})
	if err != nil {
		return err
	}
	return tw.Close()
}

func addTarEntry(tw *tar.Writer, root, p string, d fs.DirEntry) error {
	info, err := d.Info()
	if err != nil {
		return err
	}
	link := ""
	if info.Mode()&fs.ModeSymlink != 0 {
		if link, err = os.Readlink(p); err != nil {
			return err
		}
	} else if !info.Mode().IsRegular() && !info.IsDir() {
		return nil // sockets, pipes and devices are not data
	}
	hdr, err := tar.FileInfoHeader(info, link)
	if err != nil {
		return err
	}
	rel, _ := filepath.Rel(root, p)
	hdr.Name = filepath.ToSlash(rel)
	hdr.Uid, hdr.Gid, hdr.Uname, hdr.Gname = 0, 0, "", ""
	if err := tw.WriteHeader(hdr); err != nil {
		return err
	}
	if info.Mode().IsRegular() {
		return copyFile(tw, p)
	}
	return nil
}

// Get returns the entry of a channel and the path of its data.
func (s *Store) Get(run, channel string) (Entry, string, bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	e, ok := s.entries[chanKey{run, channel}]
	return e, filepath.Join(s.folder(run, channel), "data"), ok
}

// RunKey returns the key recorded for run by any of its entries.
func (s *Store) RunKey(run string) ([]byte, bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	for k, e := range s.entries {
		if k.run == run {
			return e.Key, true
		}
	}
	return nil, false
}

// List returns every entry, ordered by run then channel.
func (s *Store) List() []Entry {
	s.mu.Lock()
	out := make([]Entry, 0, len(s.entries))
	for _, e := range s.entries {
		out = append(out, e)
	}
	s.mu.Unlock()
	sort.Slice(out, func(i, j int) bool {
		if out[i].Run != out[j].Run {
			return out[i].Run < out[j].Run
		}
		return out[i].Channel < out[j].Channel
	})
	return out
}

// Remove deletes a channel's data; removing an absent channel is not an
// error.
func (s *Store) Remove(run, channel string) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	delete(s.entries, chanKey{run, channel})
	if err := os.RemoveAll(s.folder(run, channel)); err != nil {
		return fmt.Errorf("remove channel %s of run %s: %w", channel, run, err)
	}
	return nil
}

// safeName maps s to a file name of at most 48 bytes of [A-Za-z0-9_-].
func safeName(s string) string { return registry.SafeName(s, 48) }

type countWriter struct {
	w io.Writer
	n int64
}

func (c *countWriter) Write(p []byte) (int, error) {
	n, err := c.w.Write(p)
	c.n += int64(n)
	return n, err
}

// writeFileSync writes b to path and fsyncs it.
func writeFileSync(path string, b []byte, mode os.FileMode) error {
	f, err := os.OpenFile(path, os.O_CREATE|os.O_TRUNC|os.O_WRONLY, mode)
	if err != nil {
		return err
	}
	if _, err := f.Write(b); err != nil {
		f.Close()
		return err
	}
	if err := f.Sync(); err != nil {
		f.Close()
		return err
	}
	return f.Close()
}

// sumHex returns the hex SHA-256 accumulated in h.
func sumHex(h hash.Hash) string { return hex.EncodeToString(h.Sum(nil)) }

// FormatNone is a plain dependency: no bytes, only the fact that the
// upstream finished.
const FormatNone = "none"

// PublishEmpty stores a FormatNone channel (zero bytes).
func (s *Store) PublishEmpty(e Entry) (Entry, error) {
	dir := s.folder(e.Run, e.Channel)
	tmp := dir + ".tmp"
	if err := os.RemoveAll(tmp); err != nil {
		return e, fmt.Errorf("publish channel %s: %w", e.Channel, err)
	}
	if err := os.MkdirAll(tmp, 0o700); err != nil {
		return e, fmt.Errorf("publish channel %s: %w", e.Channel, err)
	}
	if err := writeFileSync(filepath.Join(tmp, "data"), nil, 0o600); err != nil {
		return e, fmt.Errorf("publish channel %s: %w", e.Channel, err)
	}
	e.Format, e.Size, e.SHA256, e.Published = FormatNone, 0, sumHex(sha256.New()), time.Now().UTC()
	if err := s.commit(e, tmp, dir); err != nil {
		os.RemoveAll(tmp)
		return e, fmt.Errorf("publish channel %s: %w", e.Channel, err)
	}
	return e, nil
}

// PublishSame stores channel e with the same bytes as the stored channel
// from (another channel of the same output): the store's own immutable
// copy is hard-linked, or copied where links fail.
func (s *Store) PublishSame(e Entry, from Entry) (Entry, error) {
	_, src, ok := s.Get(from.Run, from.Channel)
	if !ok {
		return e, fmt.Errorf("publish channel %s: channel %s not stored", e.Channel, from.Channel)
	}
	dir := s.folder(e.Run, e.Channel)
	tmp := dir + ".tmp"
	if err := os.RemoveAll(tmp); err != nil {
		return e, fmt.Errorf("publish channel %s: %w", e.Channel, err)
	}
	if err := os.MkdirAll(tmp, 0o700); err != nil {
		return e, fmt.Errorf("publish channel %s: %w", e.Channel, err)
	}
	if err := linkData(src, tmp); err != nil {
		os.RemoveAll(tmp)
		if err := os.MkdirAll(tmp, 0o700); err != nil {
			return e, fmt.Errorf("publish channel %s: %w", e.Channel, err)
		}
		if _, _, err := writeData(filepath.Join(tmp, "data"), src, FormatFile); err != nil {
			os.RemoveAll(tmp)
			return e, fmt.Errorf("publish channel %s: %w", e.Channel, err)
		}
	}
	e.Format, e.Size, e.SHA256, e.Published = from.Format, from.Size, from.SHA256, time.Now().UTC()
	if err := s.commit(e, tmp, dir); err != nil {
		os.RemoveAll(tmp)
		return e, fmt.Errorf("publish channel %s: %w", e.Channel, err)
	}
	return e, nil
}

// linkData hard-links the stored data file src, and its block CRCs when it
// has them, into the folder dir.
func linkData(src, dir string) error {
	if err := os.Link(src, filepath.Join(dir, "data")); err != nil {
		return err
	}
	err := os.Link(filepath.Join(filepath.Dir(src), crcFileName), filepath.Join(dir, crcFileName))
	if errors.Is(err, fs.ErrNotExist) {
		return nil // stored by an earlier version: CRCs computed when sent
	}
	return err
}
