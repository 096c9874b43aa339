package nomadjob

import (
	"fmt"
	"slices"
	"strings"

	"github.com/shardwise/shardwise/planner/plan"
)

// unit is what one Nomad job runs: a single shard, or every piece of one
// split task, in piece order.
type unit struct {
	job    string
	shards []*plan.Shard
	// inputs and outputs are the channels entering and leaving the unit's
	// shards from other jobs, in plan order.
	inputs, outputs []*plan.Channel
}

// first returns the shard that stands for the whole unit: its tasks, class,
// type and signature are shared by every piece.
func (u *unit) first() *plan.Shard { return u.shards[0] }

// split returns the unit's split declaration, or nil for an unsplit shard.
func (u *unit) split() *plan.Split { return u.first().Split }

// ids returns the unit's shard IDs in piece order.
func (u *unit) ids() []string {
	out := make([]string, len(u.shards))
	for i, s := range u.shards {
		out[i] = s.ID
	}
	return out
}

// label names the unit in error messages: "shard ID", or "shards A..B" for
// a split task.
func (u *unit) label() string {
	if len(u.shards) == 1 {
		return "shard " + u.first().ID
	}
	return fmt.Sprintf("shards %s..%s", u.first().ID, u.shards[len(u.shards)-1].ID)
}

// units groups p's shards by Job in order of first appearance, checks that
// shards sharing a job are exactly the pieces of one split task, and
// attaches each channel to the jobs at its ends. Errors name the shard or
// channel at fault.
func units(p *plan.Plan) ([]*unit, error) {
	byJob := map[string]*unit{}
	byShard := map[string]*unit{}
	var out []*unit
	for i, s := range p.Shards {
		if err := checkShardIDs(i, s); err != nil {
			return nil, err
		}
		if _, dup := byShard[s.ID]; dup {
			return nil, fmt.Errorf("shard %s: duplicate shard id", s.ID)
		}
		u := byJob[s.Job]
		if u == nil {
			u = &unit{job: s.Job}
			byJob[s.Job] = u
			out = append(out, u)
		}
		u.shards = append(u.shards, s)
		byShard[s.ID] = u
	}
	for _, u := range out {
		if err := u.orderPieces(); err != nil {
			return nil, err
		}
	}
	if err := attachChannels(p.Channels, byShard); err != nil {
		return nil, err
	}
	return out, nil
}

// checkShardIDs validates the identifiers of the i-th shard: its ID and its
// Job, which becomes a Nomad job ID and a file name.
func checkShardIDs(i int, s *plan.Shard) error {
	if s == nil {
		return fmt.Errorf("shard #%d: nil", i)
	}
	if s.ID == "" {
		return fmt.Errorf("shard #%d: empty id", i)
	}
	if err := checkJobID(s.Job); err != nil {
		return fmt.Errorf("shard %s: %w", s.ID, err)
	}
	return nil
}

// checkJobID rejects job IDs Nomad refuses or that are unsafe as file names.
func checkJobID(id string) error {
	switch {
	case id == "":
		return fmt.Errorf("empty job id")
	case len(id) > 128:
		return fmt.Errorf("job id %q: longer than 128 characters", id)
	case id == "." || id == "..":
		return fmt.Errorf("job id %q: not a file name", id)
	case strings.ContainsAny(id, "/\\\x00 \t\r\n"):
		return fmt.Errorf("job id %q: contains a slash, space or control character", id)
	}
	return nil
}

// orderPieces checks that a multi-shard unit holds exactly the pieces
// 0..Count-1 of one split task, all alike apart from their share of the
// input, and sorts them by piece index.
func (u *unit) orderPieces() error {
	f := u.first()
	if len(u.shards) == 1 && f.Split == nil {
		return nil
	}
	for _, s := range u.shards {
		if err := sameSplit(f, s); err != nil {
			return fmt.Errorf("job %s: shard %s: %w", u.job, s.ID, err)
		}
	}
	if n := f.Split.Count; n != len(u.shards) {
		return fmt.Errorf("job %s: shard %s: split of task %s has count %d but the plan has %d pieces", u.job, f.ID, f.Split.Task, n, len(u.shards))
	}
	slices.SortFunc(u.shards, func(a, b *plan.Shard) int { return a.Split.Index - b.Split.Index })
	for i, s := range u.shards {
		if s.Split.Index != i {
			return fmt.Errorf("job %s: shard %s: split piece index %d: want each of 0..%d once", u.job, s.ID, s.Split.Index, len(u.shards)-1)
		}
	}
	return nil
}

// sameSplit reports why s cannot share a job with f, the first piece.
func sameSplit(f, s *plan.Shard) error {
	switch {
	case s.Split == nil:
		return fmt.Errorf("shares job with shard %s but is not a split piece", f.ID)
	case s.Split.Task != f.Split.Task:
		return fmt.Errorf("split task %q differs from %q of shard %s", s.Split.Task, f.Split.Task, f.ID)
	case s.Split.Count != f.Split.Count:
		return fmt.Errorf("split count %d differs from %d of shard %s", s.Split.Count, f.Split.Count, f.ID)
	case s.Split.Count < 1:
		return fmt.Errorf("split count %d: must be at least 1", s.Split.Count)
	case s.Class != f.Class:
		return fmt.Errorf("class %q differs from %q of shard %s", s.Class, f.Class, f.ID)
	case s.Type != f.Type:
		return fmt.Errorf("type %q differs from %q of shard %s", s.Type, f.Type, f.ID)
	case !slices.Equal(s.Tasks, f.Tasks):
		return fmt.Errorf("tasks %v differ from %v of shard %s", s.Tasks, f.Tasks, f.ID)
	}
	return nil
}

// attachChannels records each channel as an output of the job it leaves and
// an input of the job it enters; channels between pieces of one job are
// internal and dropped. So is a channel that repeats an earlier one's
// delivery: the same output of the same producer shard to the same path
// of the same consumer shard, as when two tasks of a join region or a
// batch read one upstream output. One copy at that path serves both
// tasks, and the shard driver refuses two inputs at one path.
func attachChannels(chans []*plan.Channel, byShard map[string]*unit) error {
	type delivery struct {
		from, to, task, output, path string
		stream                       bool
	}
	seen := map[delivery]bool{}
	for i, c := range chans {
		if c == nil {
			return fmt.Errorf("channel #%d: nil", i)
		}
		from, to := byShard[c.From], byShard[c.To]
		if from == nil {
			return fmt.Errorf("channel %s: unknown shard %q", c.ID, c.From)
		}
		if to == nil {
			return fmt.Errorf("channel %s: unknown shard %q", c.ID, c.To)
		}
		if from == to {
			continue
		}
		if c.Path != "" {
			d := delivery{c.From, c.To, c.FromTask, c.Output, c.Path, c.Stream}
			if seen[d] {
				continue
			}
			seen[d] = true
		}
		from.outputs = append(from.outputs, c)
		to.inputs = append(to.inputs, c)
	}
	return nil
}
