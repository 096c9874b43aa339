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
	"strconv"
	"syscall"
	"time"

	"github.com/google/renameio/v2"

	"github.com/shardwise/shardwise/driver/channel/registry"
	"github.com/shardwise/shardwise/sdk"
)

// FetchInputs waits for every input of spec in the registry (blocking
// queries; progress gets "waiting for upstream SHARD/OUTPUT" once per input
// that is not there yet), fetches and verifies the data into taskDir/Path,
// and returns when all file inputs are in place and all stream inputs are
// connected. Stream inputs become named pipes at their Path, written until
// the stream ends (then the pipe reports end of file) or ctx ends.
//
// Inputs fetched before for the same allocation are verified, not fetched
// again, so FetchInputs may be called again after a plugin restart. It
// returns an error naming the channel, or ctx's error.
func (m *Manager) FetchInputs(ctx context.Context, spec TaskChannels, taskDir string, progress func(string)) error {
	if len(spec.Inputs) == 0 {
		return nil
	}
	if progress == nil {
		progress = func(string) {}
	}
	key, err := m.runKey(ctx, spec.Run)
	if err != nil {
		return err
	}
	return group(ctx, len(spec.Inputs), func(gctx context.Context, i int) error {
		in := spec.Inputs[i]
		if in.Stream {
			// The stream outlives FetchInputs: it runs under the caller's ctx.
			return m.startStreamInput(gctx, ctx, spec, in, taskDir, key, progress)
		}
		return m.fetchInput(gctx, spec, in, taskDir, key, progress)
	})
}

// inputName is how progress lines and errors name an input.
func inputName(in InputChannel) string {
	if in.Name == "" {
		return in.From
	}
	return in.From + "/" + in.Name
}

// marker records that an allocation's input was fetched and verified.
type marker struct {
	Format string `json:"format"`
	Size   int64  `json:"size"`
	SHA256 string `json:"sha256"`
}

func (m *Manager) markerPath(spec TaskChannels, in InputChannel) string {
	h := sha256.Sum256([]byte(spec.Run + "\x00" + spec.AllocID + "\x00" + in.ID))
	return filepath.Join(m.cfg.DataDir, "fetched", safeName(spec.AllocID)+"."+safeName(in.ID)+"."+hex.EncodeToString(h[:6])+".json")
}

// writeMarker replaces the marker at path atomically (renameio: a
// temporary file beside it, fsynced, then renamed).
func (m *Manager) writeMarker(path string, mk marker) error {
	b, _ := json.Marshal(mk)
	return renameio.WriteFile(path, b, 0o600)
}

// alreadyFetched reports whether the input is in place from an earlier
// call: a marker exists and, for a file, the file still has its checksum.
func (m *Manager) alreadyFetched(spec TaskChannels, in InputChannel, dest string) bool {
	b, err := os.ReadFile(m.markerPath(spec, in))
	var mk marker
	if err != nil || json.Unmarshal(b, &mk) != nil {
		return false
	}
	switch mk.Format {
	case FormatFile:
		size, sum, err := hashFile(dest)
		return err == nil && size == mk.Size && sum == mk.SHA256
	case FormatTar:
		fi, err := os.Stat(dest)
		return err == nil && fi.IsDir()
	default:
		return true
	}
}

func hashFile(path string) (int64, string, error) {
	f, err := os.Open(path)
	if err != nil {
		return 0, "", err
	}
	defer f.Close()
	h := sha256.New()
	n, err := io.Copy(h, f)
	return n, sumHex(h), err
}

// awaitUpstream blocks until the input's channel is registered in an
// acceptable state; it fails when the producer registered it as failed.
func (m *Manager) awaitUpstream(ctx context.Context, spec TaskChannels, in InputChannel, progress func(string)) (registry.Channel, error) {
	accept := func(c registry.Channel) bool {
		return fromUpstream(in, c) && (c.State == registry.StateReady || c.State == registry.StateFailed ||
			(in.Stream && c.State == registry.StateStreaming))
	}
	wctx := ctx
	if in.FromAlloc != "" && !in.Stream {
		// The named producer allocation completed, so it registered the
		// channel before: past GoneAfter it is lost, not late.
		var cancel context.CancelFunc
		wctx, cancel = context.WithTimeout(ctx, m.cfg.GoneAfter)
		defer cancel()
	}
	c, err := m.reg.Wait(wctx, spec.Run, in.ID, accept, func() { progress("waiting for upstream " + inputName(in)) })
	if err != nil && ctx.Err() == nil && wctx.Err() != nil {
		// The tag tells the launcher which producer to run again.
		return c, fmt.Errorf("input %s (channel %s): %w: producer allocation %s completed, but no plugin has served the channel for %v (its node or data lost, or consumed more than ConsumedRetention ago); run the producer %s again %s",
			inputName(in), in.ID, ErrUpstreamGone, in.FromAlloc, m.cfg.GoneAfter, in.From, sdk.UpstreamGoneTag(in.From, in.FromAlloc))
	}
	if err != nil {
		return c, fmt.Errorf("input %s (channel %s): %w", inputName(in), in.ID, err)
	}
	if c.State == registry.StateFailed {
		return c, fmt.Errorf("input %s (channel %s): %w: the producer failed", inputName(in), in.ID, ErrUpstreamFailed)
	}
	return c, nil
}

// fromUpstream reports whether a registration is the one of the
// allocation the run names as the input's producer (any, when it names
// none): a stale registration of an earlier allocation of the same
// channel is never read, the consumer waits for the live one.
func fromUpstream(in InputChannel, c registry.Channel) bool {
	return in.FromAlloc == "" || c.Alloc == in.FromAlloc
}

// request builds the fetch request of a registered channel.
func (m *Manager) request(spec TaskChannels, in InputChannel, c registry.Channel, key []byte) Request {
	return Request{
		Run: spec.Run, Channel: in.ID, Key: key, ExpectSize: c.Size, ExpectSHA256: c.SHA256,
		Retry: m.cfg.Retry, NoCompression: m.cfg.CompressionLevel <= 0, TLS: m.clientTLS(registry.ServiceName),
		Resolve: func(ctx context.Context) (string, error) {
			c, err := m.reg.Lookup(ctx, spec.Run, in.ID, func(c registry.Channel) bool { return fromUpstream(in, c) })
			if err != nil {
				return "", err
			}
			return c.Addr(), nil
		},
	}
}

// fetchInput fetches one file, directory or plain-dependency input.
func (m *Manager) fetchInput(ctx context.Context, spec TaskChannels, in InputChannel, taskDir string, key []byte, progress func(string)) error {
	dest := ""
	if in.Path != "" {
		var err error
		if dest, err = taskPath(taskDir, in.Path); err != nil {
			return fmt.Errorf("input %s: %w", inputName(in), err)
		}
	}
	if m.alreadyFetched(spec, in, dest) {
		return nil
	}
	c, err := m.awaitUpstream(ctx, spec, in, progress)
	if err != nil {
		return err
	}
	if c.Format != FormatNone {
		progress(fmt.Sprintf("fetching %s (%d bytes)", inputName(in), c.Size))
	}
	mpath := m.markerPath(spec, in)
	req := m.request(spec, in, c, key)
	target := dest
	if c.Format != FormatFile || dest == "" {
		target = filepath.Join(m.cfg.DataDir, "incoming", filepath.Base(mpath)+".data")
		defer os.Remove(target)
	}
	began := time.Now()
	res, err := FetchFile(ctx, req, target, func(res Result) error {
		if c.Format == FormatTar && dest != "" {
			if err := extractTar(target, dest); err != nil {
				return err
			}
		}
		return m.writeMarker(mpath, marker{Format: c.Format, Size: res.Size, SHA256: res.SHA256})
	})
	if err != nil && errors.Is(err, ErrUpstreamGone) && in.FromAlloc != "" && c.Alloc == in.FromAlloc {
		// The completed producer's own registration, but its server has
		// lost the data (or cannot be reached): the tag tells the launcher
		// to run the producer again.
		return fmt.Errorf("input %s (channel %s): %w; run the producer %s again %s",
			inputName(in), in.ID, err, in.From, sdk.UpstreamGoneTag(in.From, in.FromAlloc))
	}
	if err != nil {
		return fmt.Errorf("input %s (channel %s): %w", inputName(in), in.ID, err)
	}
	took := time.Since(began)
	// Sizes as exact decimal strings: go-plugin forwards plugin logs as
	// JSON, which would turn an int64 into a float ("1.073741824e+09").
	m.log.Info("fetched input channel", "run", spec.Run, "channel", in.ID, "input", inputName(in),
		"bytes", strconv.FormatInt(res.Size, 10), "sha256", res.SHA256, "attempts", res.Attempts,
		"seconds", fmt.Sprintf("%.3f", took.Seconds()),
		"mb_per_s", fmt.Sprintf("%.1f", float64(res.Size)/1e6/max(took.Seconds(), 1e-9)))
	return nil
}

// startStreamInput waits for a stream input, makes its named pipe and
// starts copying the stream into it under runCtx; it returns once the
// copy has started.
func (m *Manager) startStreamInput(ctx, runCtx context.Context, spec TaskChannels, in InputChannel, taskDir string, key []byte, progress func(string)) error {
	dest, err := taskPath(taskDir, in.Path)
	if err != nil {
		return fmt.Errorf("input %s: %w", inputName(in), err)
	}
	if m.alreadyFetched(spec, in, dest) {
		return nil
	}
	spath := m.streamStatePath(spec, in)
	if spec.Recovered {
		// The task's end of the pipe lost its writer when the plugin
		// died: it has read, or will read, an early end of file.
		var n int64
		if st := readStreamState(spath); st != nil {
			n = st.Offset
		}
		os.Remove(spath)
		return fmt.Errorf("input %s (channel %s): %w after %d bytes or more: the task's input pipe lost its writer while the shard driver plugin was down, so the task may have read a truncated input",
			inputName(in), in.ID, ErrStreamCut, n)
	}
	// A new pipe has a new reader, which needs the stream from its start:
	// the state of an earlier run of the task (a restart in the same
	// allocation) does not apply.
	os.Remove(spath)
	c, err := m.awaitUpstream(ctx, spec, in, progress)
	if err != nil {
		return err
	}
	pipe, err := openFIFO(dest, os.O_RDWR)
	if err != nil {
		return fmt.Errorf("input %s: %w", inputName(in), err)
	}
	progress("streaming " + inputName(in))
	go m.runStreamInput(runCtx, spec, in, c, key, pipe, progress)
	return nil
}

// runStreamInput copies a stream into the task's pipe. The pipe is closed
// (the task sees end of file) only after the whole stream verified; on a
// failure it stays open, without an end of file the task could mistake
// for the stream's end, until ctx ends. It is not waited for by Close:
// it lives as long as its task.
func (m *Manager) runStreamInput(ctx context.Context, spec TaskChannels, in InputChannel, c registry.Channel, key []byte, pipe *os.File, progress func(string)) {
	stop := context.AfterFunc(ctx, func() { pipe.Close() })
	defer stop()
	mpath, spath := m.markerPath(spec, in), m.streamStatePath(spec, in)
	req := m.request(spec, in, c, key)
	req.ExpectSize, req.ExpectSHA256 = -1, ""
	res, err := FetchStream(ctx, req, pipe, nil, func(st StreamState) error { return writeStreamState(spath, st) })
	if err == nil {
		err = m.writeMarker(mpath, marker{Format: FormatStream, Size: res.Size, SHA256: res.SHA256})
	}
	if err != nil {
		if ctx.Err() == nil {
			m.log.Error("stream input failed", "run", spec.Run, "channel", in.ID, "error", err)
			progress(fmt.Sprintf("stream %s failed: %v", inputName(in), err))
		}
		<-ctx.Done()
		return
	}
	os.Remove(spath)
	pipe.Close()
}

// streamStatePath is where a stream input's delivery point is recorded:
// how many bytes its task's pipe got, for the error of a stream a plugin
// restart cut.
func (m *Manager) streamStatePath(spec TaskChannels, in InputChannel) string {
	return filepath.Join(m.cfg.DataDir, "streams", filepath.Base(m.markerPath(spec, in)))
}

func readStreamState(path string) *StreamState {
	b, err := os.ReadFile(path)
	if err != nil {
		return nil
	}
	var st StreamState
	if json.Unmarshal(b, &st) != nil {
		return nil
	}
	return &st
}

// writeStreamState records a stream's delivery point. It is not fsynced:
// it guards against the plugin's death, which leaves the page cache intact.
func writeStreamState(path string, st StreamState) error {
	b, _ := json.Marshal(st)
	if err := os.WriteFile(path+".tmp", b, 0o600); err != nil {
		return err
	}
	return os.Rename(path+".tmp", path)
}

// openFIFO makes (or reuses) a named pipe at path and opens it with flag
// (plus O_NONBLOCK, so that the open never waits for the other end; reads
// and writes still block through Go's poller).
func openFIFO(path string, flag int) (*os.File, error) {
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		return nil, err
	}
	fi, err := os.Lstat(path)
	switch {
	case os.IsNotExist(err):
		if err := syscall.Mkfifo(path, 0o644); err != nil {
			return nil, fmt.Errorf("mkfifo %s: %w", path, err)
		}
	case err != nil:
		return nil, err
	case fi.Mode()&os.ModeNamedPipe == 0:
		return nil, fmt.Errorf("%s exists and is not a named pipe", path)
	}
	f, err := os.OpenFile(path, flag|syscall.O_NONBLOCK, 0)
	if err != nil {
		return nil, fmt.Errorf("open pipe %s: %w", path, err)
	}
	return f, nil
}
