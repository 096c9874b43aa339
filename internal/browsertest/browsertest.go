// Package browsertest starts headless Chromium (Debian's chromium
// package, which `make browser` installs) for tests that check what a
// page shows, through github.com/chromedp/chromedp, and collects what the
// page reports as errors.
package browsertest

import (
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"

	"github.com/chromedp/chromedp"
)

// ArtifactsEnv names the folder tests save screenshots into; without it
// they go into a new temporary folder, whose path the test logs.
const ArtifactsEnv = "SHARDWISE_TEST_ARTIFACTS"

// binaries are the names Chromium goes by, Debian's first.
var binaries = []string{"chromium", "chromium-browser", "google-chrome", "google-chrome-stable"}

// Find returns the path of the Chromium binary. Without one it skips t,
// or fails it when CI is set (CI installs it with `make browser`).
func Find(t testing.TB) string {
	t.Helper()
	for _, b := range binaries {
		if p, err := exec.LookPath(b); err == nil {
			return p
		}
	}
	if os.Getenv("CI") != "" {
		t.Fatalf("no Chromium on PATH (looked for %s): run `make browser`", strings.Join(binaries, ", "))
	}
	t.Skipf("no Chromium on PATH (looked for %s); `make browser` installs Debian's chromium", strings.Join(binaries, ", "))
	return ""
}

// Browser is one headless Chromium tab and the errors its pages report.
type Browser struct {
	// Ctx is the tab's context for chromedp.Run.
	Ctx  context.Context
	mu   sync.Mutex
	errs []string
}

// New starts headless Chromium with a width x height window and returns
// its tab; it is closed when t ends. Console errors, uncaught exceptions
// and failed loads are collected (Errors).
func New(t testing.TB, width, height int) *Browser {
	t.Helper()
	bin := Find(t)
	opts := append(chromedp.DefaultExecAllocatorOptions[:],
		chromedp.ExecPath(bin),
		chromedp.NoSandbox, // tests run as root in CI containers
		chromedp.Flag("disable-gpu", true),
		chromedp.Flag("disable-dev-shm-usage", true),
		chromedp.WindowSize(width, height),
	)
	actx, cancelAlloc := chromedp.NewExecAllocator(context.Background(), opts...)
	ctx, cancel := chromedp.NewContext(actx)
	t.Cleanup(func() { cancel(); cancelAlloc() })
	b := &Browser{Ctx: ctx}
	// Start the browser and its tab, then read its console from then on.
	if err := chromedp.Do(ctx); err != nil {
		t.Fatalf("start Chromium (%s): %v", bin, err)
	}
	msgs := chromedp.Console(ctx)
	go func() {
		for m, err := range msgs {
			if err != nil {
				return
			}
			if m.Type == chromedp.ConsoleError || m.IsException() {
				b.add(fmt.Sprintf("%s (%s:%d)", m.String(), m.URL, m.Line))
			}
		}
	}()
	return b
}

func (b *Browser) add(s string) {
	b.mu.Lock()
	defer b.mu.Unlock()
	b.errs = append(b.errs, s)
}

// Errors returns what the pages reported as errors so far.
func (b *Browser) Errors() []string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return append([]string(nil), b.errs...)
}

// Screenshot saves a PNG of the whole page as name in the artifacts
// folder (ArtifactsEnv, else a new temporary folder) and returns its path,
// which it logs.
func (b *Browser) Screenshot(t testing.TB, name string) string {
	t.Helper()
	png, err := chromedp.Run(b.Ctx, chromedp.FullScreenshot(100))
	if err != nil {
		t.Fatalf("screenshot: %v", err)
	}
	dir := os.Getenv(ArtifactsEnv)
	if dir == "" {
		if dir, err = os.MkdirTemp("", "shardwise-artifacts-"); err != nil {
			t.Fatal(err)
		}
	} else if err := os.MkdirAll(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	path := filepath.Join(dir, name)
	if err := os.WriteFile(path, png, 0o644); err != nil {
		t.Fatal(err)
	}
	t.Logf("screenshot saved: %s (%d bytes)", path, len(png))
	return path
}
