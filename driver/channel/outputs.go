package channel

import (
	"context"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"os"
	"syscall"
	"time"

	"github.com/shardwise/shardwise/driver/channel/registry"
)

// PublishOutputs stores the task's finished outputs (the file or directory
// at taskDir/Path; nothing for a plain dependency) in the data dir,
// registers each channel as ready with its size and SHA-256, and finishes
// the task's stream outputs (see StreamOutputs). Channels of the same
// output share one stored copy. Calling it again publishes again.
func (m *Manager) PublishOutputs(ctx context.Context, spec TaskChannels, taskDir string) error {
	key, err := m.runKey(ctx, spec.Run)
	if err != nil {
		return err
	}
	stored := map[string]Entry{} // by source path
	for _, out := range spec.Outputs {
		if out.Stream {
			if err := m.finishStream(ctx, spec, out, taskDir); err != nil {
				return err
			}
			continue
		}
		e, err := m.publishFile(spec, out, taskDir, key, stored)
		if err != nil {
			return fmt.Errorf("output %s (channel %s): %w", out.Name, out.ID, err)
		}
		if err := m.register(ctx, m.registration(e, registry.StateReady)); err != nil {
			return fmt.Errorf("output %s (channel %s): %w", out.Name, out.ID, err)
		}
	}
	return nil
}

// publishFile stores one output channel, reusing the copy of an earlier
// channel of the same path.
func (m *Manager) publishFile(spec TaskChannels, out OutputChannel, taskDir string, key []byte, stored map[string]Entry) (Entry, error) {
	e := Entry{Graph: spec.Graph, Run: spec.Run, Shard: spec.Shard, Channel: out.ID, To: out.To, Key: key,
		Job: spec.Job, Alloc: spec.AllocID}
	if out.Name == "" || out.Path == "" {
		return m.store.PublishEmpty(e)
	}
	src, err := taskPath(taskDir, out.Path)
	if err != nil {
		return e, err
	}
	if first, ok := stored[src]; ok {
		return m.store.PublishSame(e, first)
	}
	e, err = m.store.Publish(e, src)
	if err == nil {
		stored[src] = e
	}
	return e, err
}

// pump copies a stream output's named pipe into its channels' Streams.
type pump struct {
	reader, holder *os.File // the pipe's read end, and a write end that keeps it open
	streams        []*Stream
	entries        []Entry
	done           chan struct{}
	err            error
}

func pumpKey(spec TaskChannels, path string) string { return spec.AllocID + "\x00" + path }

// StreamOutputs serves the task's stream outputs while it runs and
// returns once each channel is registered as streaming. By default each
// output path is a regular file the task writes (created when missing,
// kept when present, as for a recovered task), served to consumers as it
// grows and recorded in the data dir, so that a restarted plugin serves it
// again at once (durable; no back-pressure, the whole stream on disk).
// With Config.MemoryStreams the path becomes a named pipe read into a
// window of Config.StreamWindow bytes (a full window blocks the task's
// writes: back-pressure), which a plugin restart loses. PublishOutputs,
// after the task exited, registers the channels ready with their size and
// SHA-256; if ctx ends first, the streams are aborted and registered
// failed. A finished stream is served until its consumer has it all,
// whatever ctx.
func (m *Manager) StreamOutputs(ctx context.Context, spec TaskChannels, taskDir string) error {
	key, err := m.runKey(ctx, spec.Run)
	if err != nil {
		return err
	}
	byPath := map[string][]OutputChannel{}
	var order []string
	for _, out := range spec.Outputs {
		if !out.Stream {
			continue
		}
		if _, ok := byPath[out.Path]; !ok {
			order = append(order, out.Path)
		}
		byPath[out.Path] = append(byPath[out.Path], out)
	}
	for _, path := range order {
		start := m.startFileStreams
		if m.cfg.MemoryStreams {
			start = m.startPump
		}
		if err := start(ctx, spec, byPath[path], taskDir, key); err != nil {
			return err
		}
	}
	return nil
}

// startPump opens one output pipe, registers its channels and starts
// copying.
func (m *Manager) startPump(ctx context.Context, spec TaskChannels, outs []OutputChannel, taskDir string, key []byte) error {
	path, err := taskPath(taskDir, outs[0].Path)
	if err != nil {
		return fmt.Errorf("stream output %s: %w", outs[0].Name, err)
	}
	p := &pump{done: make(chan struct{})}
	if p.reader, err = openFIFO(path, os.O_RDONLY); err != nil {
		return fmt.Errorf("stream output %s: %w", outs[0].Name, err)
	}
	if p.holder, err = os.OpenFile(path, os.O_WRONLY|syscall.O_NONBLOCK, 0); err != nil {
		p.reader.Close()
		return fmt.Errorf("stream output %s: %w", outs[0].Name, err)
	}
	for _, out := range outs {
		e := Entry{Graph: spec.Graph, Run: spec.Run, Shard: spec.Shard, Channel: out.ID, To: out.To,
			Format: FormatStream, Size: -1, Key: key, Job: spec.Job, Alloc: spec.AllocID}
		st := NewStream(m.cfg.StreamWindow)
		m.srv.AddStream(e, st)
		p.streams, p.entries = append(p.streams, st), append(p.entries, e)
		if err := m.register(ctx, m.registration(e, registry.StateStreaming)); err != nil {
			p.close(err)
			return fmt.Errorf("stream output %s (channel %s): %w", out.Name, out.ID, err)
		}
	}
	m.mu.Lock()
	m.pumps[pumpKey(spec, outs[0].Path)] = p
	m.mu.Unlock()
	go m.runPump(ctx, p)
	return nil
}

// runPump copies the pipe into the streams until the pipe's end of file
// (the task exited and PublishOutputs closed the holder) or ctx's end. It
// is not waited for by Close: it lives as long as its task.
func (m *Manager) runPump(ctx context.Context, p *pump) {
	stop := context.AfterFunc(ctx, func() { p.close(fmt.Errorf("task stopped: %w", ctx.Err())) })
	defer stop()
	ws := make([]io.Writer, len(p.streams))
	for i, s := range p.streams {
		ws[i] = s
	}
	_, err := io.CopyBuffer(io.MultiWriter(ws...), p.reader, make([]byte, 256<<10))
	if err != nil {
		p.close(err)
		m.registerAborted(p, err)
	} else {
		for _, s := range p.streams {
			s.Close()
		}
	}
	p.reader.Close()
	p.err = err
	close(p.done)
}

// close aborts the pump's streams and closes its pipe ends.
func (p *pump) close(err error) {
	for _, s := range p.streams {
		s.Abort(err)
	}
	p.holder.Close()
	p.reader.Close()
}

// finishStream ends a stream output after its task exited: closing the
// holder lets the pump read to the end of file; then each channel is
// registered ready (or failed) with its size and SHA-256.
func (m *Manager) finishStream(ctx context.Context, spec TaskChannels, out OutputChannel, taskDir string) error {
	if !m.cfg.MemoryStreams {
		return m.finishFileStream(ctx, spec, out, taskDir)
	}
	m.mu.Lock()
	p := m.pumps[pumpKey(spec, out.Path)]
	m.mu.Unlock()
	if p == nil {
		return fmt.Errorf("stream output %s (channel %s): not streaming (StreamOutputs was not called)", out.Name, out.ID)
	}
	p.holder.Close()
	select {
	case <-p.done:
	case <-ctx.Done():
		return ctx.Err()
	}
	for i, e := range p.entries {
		if e.Channel == out.ID {
			return m.registerFinished(ctx, e, p.streams[i], p.err)
		}
	}
	return nil
}

// registerAborted tells consumers that the pump's streams failed.
func (m *Manager) registerAborted(p *pump, err error) {
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	for i, e := range p.entries {
		if rerr := m.registerFinished(ctx, e, p.streams[i], err); !errors.Is(rerr, ErrStreamAborted) {
			m.log.Warn("register failed stream", "run", e.Run, "channel", e.Channel, "error", rerr)
		}
	}
}

func (m *Manager) registerFinished(ctx context.Context, e Entry, st *Stream, perr error) error {
	size, sum, ok := st.Final()
	state := registry.StateReady
	if !ok || perr != nil {
		state = registry.StateFailed
	}
	e.Size, e.SHA256 = size, hex.EncodeToString(sum[:])
	if err := m.register(ctx, m.registration(e, state)); err != nil {
		return fmt.Errorf("stream output channel %s: %w", e.Channel, err)
	}
	if state == registry.StateFailed {
		return fmt.Errorf("stream output channel %s: %w", e.Channel, errors.Join(ErrStreamAborted, perr))
	}
	return nil
}
