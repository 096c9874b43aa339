package launcher

import (
	"fmt"
	"io"
	"os"
	"strings"
	"sync"
	"time"

	"github.com/schollz/progressbar/v3"

	"github.com/shardwise/shardwise/planner/units"
)

// Progress shows a run as it happens. Run calls it from one goroutine,
// one call at a time: Start once, Change for every shard whose state
// changed, and Finish once before it returns.
type Progress interface {
	Start(s Snapshot)
	Change(c Change, s Snapshot)
	Finish(s Snapshot)
}

// Snapshot is the run as a whole at one moment.
type Snapshot struct {
	Run, Graph string
	// Shards is the number of shards in the plan.
	Shards int
	// Counts holds the number of shards in each State; each piece of a
	// split job counts in its own state (see Change).
	Counts [Skipped + 1]int
	// Start is when Run began; Elapsed is the time since.
	Start   time.Time
	Elapsed time.Duration
	// Predicted is the plan's predicted makespan.
	Predicted time.Duration
}

// Change is one shard's move from one state to another. A piece of a
// split job moves on its own allocation's updates (allocation index
// Split.Index of the job), not with the job's other pieces.
type Change struct {
	Shard, Job, Class string
	From, To          State
	// Attempt counts the job's registrations (1 on the first).
	Attempt int
	// Node is the name of the node the shard's allocation is on, when
	// known.
	Node string
	// Reason says why the shard failed, is retried or waits for
	// placement.
	Reason string
	Time   time.Time
	// Alloc is the ID of the allocation that best shows how the shard
	// runs (see ShardResult.Alloc); Started and Finished are its first
	// task start and last task finish as Nomad recorded them, zero when
	// not reached.
	Alloc             string
	Started, Finished time.Time
	// Placed is set on a change that only says the shard's allocation
	// changed (placed on a node, or replaced), its state and reason as
	// before; the text progress shows none.
	Placed bool
}

// Discard is a Progress that shows nothing.
var Discard Progress = discard{}

type discard struct{}

func (discard) Start(Snapshot)          {}
func (discard) Change(Change, Snapshot) {}
func (discard) Finish(Snapshot)         {}

// NewProgress returns a terminal progress bar on w when w is a terminal
// (a character device), and plain lines otherwise.
func NewProgress(w io.Writer) Progress {
	if f, ok := w.(*os.File); ok {
		if st, err := f.Stat(); err == nil && st.Mode()&os.ModeCharDevice != 0 {
			return NewTerminal(w)
		}
	}
	return NewPlain(w)
}

// Plain writes one line per shard state change, for logs and pipes:
//
//	+3.2s  s001-train  running  on client-gpu-accelerated (gpu-accelerated)  [2/7 complete]
type Plain struct {
	w io.Writer
}

// NewPlain returns a Plain progress writing to w.
func NewPlain(w io.Writer) *Plain { return &Plain{w: w} }

// Start writes the run's first line.
func (p *Plain) Start(s Snapshot) {
	fmt.Fprintf(p.w, "Run %s: %d shards, predicted makespan %s\n", s.Run, s.Shards, formatDur(s.Predicted))
}

// Change writes the change as one line.
func (p *Plain) Change(c Change, s Snapshot) {
	if c.Placed {
		return
	}
	fmt.Fprintf(p.w, "%7s  %s  %s\n", "+"+formatDur(s.Elapsed), c.Shard, changeText(c)+"  ["+countsText(s)+"]")
}

// Finish writes the final counts.
func (p *Plain) Finish(s Snapshot) {
	fmt.Fprintf(p.w, "%7s  run %s ended: %s\n", "+"+formatDur(s.Elapsed), s.Run, countsText(s))
}

// changeText describes a change in words.
func changeText(c Change) string {
	var sb strings.Builder
	sb.WriteString(c.To.String())
	if c.Attempt > 1 && (c.To == Submitted || c.To == Running) {
		fmt.Fprintf(&sb, " (attempt %d)", c.Attempt)
	}
	if c.Node != "" && (c.To == Running || c.To == Complete) {
		fmt.Fprintf(&sb, " on %s", c.Node)
	}
	if c.Class != "" && c.To == Submitted {
		fmt.Fprintf(&sb, " to %s", c.Class)
	}
	if c.Reason != "" {
		sb.WriteString(": " + c.Reason)
	}
	return sb.String()
}

// countsText is "2 pending, 1 running, 3/7 complete" (states at zero
// left out, complete always shown).
func countsText(s Snapshot) string {
	var parts []string
	for st := Pending; st <= Skipped; st++ {
		n := s.Counts[st]
		switch {
		case st == Complete:
			parts = append(parts, fmt.Sprintf("%d/%d complete", n, s.Shards))
		case n > 0:
			parts = append(parts, fmt.Sprintf("%d %s", n, st))
		}
	}
	return strings.Join(parts, ", ")
}

// formatDur prints d as `shardwise plan` prints durations
// (units.FormatSeconds): "2.5s", "24.0s", "5m00s", "1h02m".
func formatDur(d time.Duration) string { return units.FormatSeconds(d.Seconds()) }

// Terminal draws a progress bar of complete shards with the counts per
// state and the elapsed against the predicted time, redrawn on every
// change and once a second; failures, retries and placement problems are
// printed above the bar.
type Terminal struct {
	w    io.Writer
	mu   sync.Mutex
	bar  *progressbar.ProgressBar
	snap Snapshot
	stop chan struct{}
	done chan struct{}
}

// NewTerminal returns a Terminal progress drawing on w.
func NewTerminal(w io.Writer) *Terminal { return &Terminal{w: w} }

// Start draws the bar and starts the once-a-second redraw, which Finish
// stops.
func (t *Terminal) Start(s Snapshot) {
	t.mu.Lock()
	defer t.mu.Unlock()
	t.snap = s
	t.bar = progressbar.NewOptions(max(s.Shards, 1),
		progressbar.OptionSetWriter(t.w),
		progressbar.OptionSetWidth(30),
		progressbar.OptionSetPredictTime(false),
		progressbar.OptionSetElapsedTime(false),
		progressbar.OptionShowCount(),
		progressbar.OptionShowDescriptionAtLineEnd(),
		progressbar.OptionSetDescription(t.describe()),
		progressbar.OptionSetRenderBlankState(true))
	t.stop, t.done = make(chan struct{}), make(chan struct{})
	go t.tick()
}

// tick redraws the elapsed time once a second until Finish.
func (t *Terminal) tick() {
	defer close(t.done)
	tk := time.NewTicker(time.Second)
	defer tk.Stop()
	for {
		select {
		case <-t.stop:
			return
		case <-tk.C:
			t.mu.Lock()
			t.snap.Elapsed = time.Since(t.snap.Start)
			t.bar.Describe(t.describe())
			t.mu.Unlock()
		}
	}
}

// Change updates the bar, printing failures, retries and placement
// problems above it.
func (t *Terminal) Change(c Change, s Snapshot) {
	if c.Placed {
		return
	}
	t.mu.Lock()
	defer t.mu.Unlock()
	t.snap = s
	if c.Reason != "" || c.To == Failed {
		_, _ = progressbar.Bprintln(t.bar, c.Shard+"  "+changeText(c))
	}
	t.bar.Describe(t.describe())
	_ = t.bar.Set(s.Counts[Complete])
}

// Finish draws the final state, ends the bar's line and stops the redraw.
func (t *Terminal) Finish(s Snapshot) {
	if t.stop != nil {
		close(t.stop)
		<-t.done
	}
	t.mu.Lock()
	defer t.mu.Unlock()
	t.snap = s
	if t.bar == nil {
		return
	}
	t.bar.Describe(t.describe())
	_ = t.bar.Set(s.Counts[Complete])
	fmt.Fprintln(t.w)
}

// describe is the text beside the bar.
func (t *Terminal) describe() string {
	s := t.snap
	return fmt.Sprintf("%d pending  %d running  %d complete  %d failed  %s / ~%s",
		s.Counts[Pending]+s.Counts[Submitted], s.Counts[Running], s.Counts[Complete], s.Counts[Failed],
		formatDur(s.Elapsed), formatDur(s.Predicted))
}

// Tee returns a Progress that passes every call to each of ps in turn
// (nil ones left out), e.g. the terminal and the live run page.
func Tee(ps ...Progress) Progress {
	var t tee
	for _, p := range ps {
		if p != nil {
			t = append(t, p)
		}
	}
	return t
}

type tee []Progress

func (t tee) Start(s Snapshot) {
	for _, p := range t {
		p.Start(s)
	}
}

func (t tee) Change(c Change, s Snapshot) {
	for _, p := range t {
		p.Change(c, s)
	}
}

func (t tee) Finish(s Snapshot) {
	for _, p := range t {
		p.Finish(s)
	}
}
