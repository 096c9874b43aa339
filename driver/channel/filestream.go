package channel

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"time"

	"github.com/shardwise/shardwise/driver/channel/registry"
)

// File-backed stream outputs (the default; Config.MemoryStreams selects
// the named pipe and in-memory window instead). The task appends to a
// regular file at the output path; each channel of it is served from the
// file as it grows (growingFile). A record per channel in
// <data_dir>/outstreams/ (entry and file path, mode 0600) lets a plugin
// that was killed and started again serve the stream at once, before the
// driver recovers the task: a consumer resumes at its offset, with no byte
// lost or sent twice.

// fileStreamsDir is the data dir's folder of stream output records.
const fileStreamsDir = "outstreams"

// fileStreamRecord is what a restarted plugin needs to serve a stream
// output again.
type fileStreamRecord struct {
	Entry Entry  `json:"entry"`
	Path  string `json:"path"`
}

func (m *Manager) fileStreamRecordPath(e Entry) string {
	h := sha256.Sum256([]byte(e.Run + "\x00" + e.Channel))
	return filepath.Join(m.cfg.DataDir, fileStreamsDir, safeName(e.Run)+"."+safeName(e.Channel)+"."+hex.EncodeToString(h[:6])+".json")
}

// startFileStreams serves the channels outs of one output path from the
// file the task writes there, registering each as streaming. The file is
// created when missing and kept when present (a recovered task goes on
// appending to it).
func (m *Manager) startFileStreams(ctx context.Context, spec TaskChannels, outs []OutputChannel, taskDir string, key []byte) error {
	path, err := taskPath(taskDir, outs[0].Path)
	if err != nil {
		return fmt.Errorf("stream output %s: %w", outs[0].Name, err)
	}
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		return fmt.Errorf("stream output %s: %w", outs[0].Name, err)
	}
	f, err := os.OpenFile(path, os.O_CREATE|os.O_WRONLY, 0o644)
	if err != nil {
		return fmt.Errorf("stream output %s: %w", outs[0].Name, err)
	}
	f.Close()
	g := m.growingFor(path)
	var entries []Entry
	for _, out := range outs {
		e := Entry{Graph: spec.Graph, Run: spec.Run, Shard: spec.Shard, Channel: out.ID, To: out.To,
			Format: FormatStream, Size: -1, Key: key, Job: spec.Job, Alloc: spec.AllocID}
		entries = append(entries, e)
		if err := m.serveFileStream(ctx, e, path, g); err != nil {
			g.abort(err)
			return fmt.Errorf("stream output %s (channel %s): %w", out.Name, out.ID, err)
		}
	}
	// A task stopped before PublishOutputs: its streams fail, and say so
	// in Consul (a finished stream is not affected).
	context.AfterFunc(ctx, func() {
		if g.abort(fmt.Errorf("task stopped: %w", ctx.Err())) {
			m.registerFailed(entries)
		}
	})
	return nil
}

// registerFailed registers aborted streams as failed, for their consumers.
func (m *Manager) registerFailed(entries []Entry) {
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	for _, e := range entries {
		if err := m.register(ctx, m.registration(e, registry.StateFailed)); err != nil {
			m.log.Warn("register failed stream", "run", e.Run, "channel", e.Channel, "error", err)
		}
	}
}

// growingFor returns the growingFile of an output file, making it on
// first use.
func (m *Manager) growingFor(path string) *growingFile {
	m.mu.Lock()
	defer m.mu.Unlock()
	g := m.growing[path]
	if g == nil {
		g = newGrowingFile(path)
		m.growing[path] = g
	}
	return g
}

// serveFileStream records, serves and registers one streaming channel.
func (m *Manager) serveFileStream(ctx context.Context, e Entry, path string, g *growingFile) error {
	b, _ := json.Marshal(fileStreamRecord{Entry: e, Path: path})
	if err := writeFileSync(m.fileStreamRecordPath(e), b, 0o600); err != nil {
		return fmt.Errorf("record stream output: %w", err)
	}
	m.srv.addLive(e, g)
	return m.register(ctx, m.registration(e, registry.StateStreaming))
}

// restoreFileStreams serves again the stream outputs a previous process of
// the plugin recorded and nobody consumed yet (after a plugin restart).
// They stay streaming until the driver publishes the task's outputs.
func (m *Manager) restoreFileStreams() {
	dir := filepath.Join(m.cfg.DataDir, fileStreamsDir)
	des, _ := os.ReadDir(dir)
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	for _, d := range des {
		b, err := os.ReadFile(filepath.Join(dir, d.Name()))
		var r fileStreamRecord
		if err != nil || json.Unmarshal(b, &r) != nil {
			continue
		}
		if _, err := os.Stat(r.Path); err != nil {
			os.Remove(filepath.Join(dir, d.Name())) // the task dir is gone
			continue
		}
		g := m.growingFor(r.Path)
		m.srv.addLive(r.Entry, g)
		if err := m.register(ctx, m.registration(r.Entry, registry.StateStreaming)); err != nil {
			m.log.Warn("re-register stream output", "run", r.Entry.Run, "channel", r.Entry.Channel, "error", err)
		}
		m.log.Info("serving stream output again after a restart", "run", r.Entry.Run, "channel", r.Entry.Channel)
	}
}

// finishFileStream ends a file-backed stream output after its task
// exited: the file's size and SHA-256 become final and the channel is
// registered ready.
func (m *Manager) finishFileStream(ctx context.Context, spec TaskChannels, out OutputChannel, taskDir string) error {
	path, err := taskPath(taskDir, out.Path)
	if err != nil {
		return fmt.Errorf("stream output %s: %w", out.Name, err)
	}
	key, err := m.runKey(ctx, spec.Run)
	if err != nil {
		return err
	}
	g := m.growingFor(path)
	e := Entry{Graph: spec.Graph, Run: spec.Run, Shard: spec.Shard, Channel: out.ID, To: out.To,
		Format: FormatStream, Size: -1, Key: key, Job: spec.Job, Alloc: spec.AllocID}
	size, sum, err := hashOutput(path)
	if err != nil {
		g.abort(err)
		return fmt.Errorf("stream output %s (channel %s): %w", out.Name, out.ID, errors.Join(ErrStreamAborted, err))
	}
	g.finish(size, sum)
	m.srv.addLive(e, g) // served until consumed, also when StreamOutputs was not called since a restart
	e.Size, e.SHA256 = size, hex.EncodeToString(sum[:])
	if err := m.register(ctx, m.registration(e, registry.StateReady)); err != nil {
		return fmt.Errorf("stream output channel %s: %w", e.Channel, err)
	}
	return nil
}

// hashOutput returns the size in bytes and SHA-256 of a finished output.
func hashOutput(path string) (int64, [sha256.Size]byte, error) {
	var sum [sha256.Size]byte
	f, err := os.Open(path)
	if err != nil {
		return 0, sum, err
	}
	defer f.Close()
	h := sha256.New()
	n, err := io.Copy(h, f)
	if err != nil {
		return 0, sum, fmt.Errorf("read %s: %w", path, err)
	}
	copy(sum[:], h.Sum(nil))
	return n, sum, nil
}

// dropFileStream forgets a consumed file-backed stream output.
func (m *Manager) dropFileStream(e Entry) {
	os.Remove(m.fileStreamRecordPath(e))
}
