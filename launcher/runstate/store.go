package runstate

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/hashicorp/nomad/api"
)

// Prefix is the variable path under which runs are stored.
const Prefix = "shardwise/runs"

// DefaultTTL is how long a lease lasts unless renewed.
const DefaultTTL = 30 * time.Second

// maxRunLen keeps every variable path of a run within Nomad's 128
// characters.
const maxRunLen = 80

var (
	// ErrNotFound: no state is stored for the run.
	ErrNotFound = errors.New("no stored state")
	// ErrIncompatible: the state was written by an incompatible version.
	ErrIncompatible = errors.New("stored state of an incompatible version")
	// ErrCorrupt: the state does not decode, or a chunk is missing or
	// does not match its digest.
	ErrCorrupt = errors.New("stored state is corrupt")
	// ErrEnded: the run has ended (complete, failed or stopped).
	ErrEnded = errors.New("run has ended")
	// ErrExists: a run with this ID is already stored.
	ErrExists = errors.New("run is already stored")
)

// HeldError says that another launcher holds the run.
type HeldError struct {
	Run    string
	Holder Lease
}

func (e *HeldError) Error() string {
	return fmt.Sprintf("run %s is driven by another launcher, %s (lease %s, expires %s unless renewed)",
		e.Run, e.Holder.Name, shortID(e.Holder.ID), e.Holder.Expires.UTC().Format(time.RFC3339))
}

// runPattern is what a run ID may hold (the launcher's run IDs).
var runPattern = regexp.MustCompile(`^[A-Za-z0-9._-]+$`)

// CheckRunID returns an error for a run ID that cannot name a run's
// variables: one that is empty, holds anything but letters, digits, '.',
// '_' and '-', or is longer than 80 characters.
func CheckRunID(run string) error {
	if !runPattern.MatchString(run) || len(run) > maxRunLen {
		return fmt.Errorf("run ID %q: use at most %d letters, digits, '.', '_' and '-'", run, maxRunLen)
	}
	return nil
}

// Path returns the head variable's path of run, or CheckRunID's error for
// a run ID that cannot be one.
func Path(run string) (string, error) {
	if err := CheckRunID(run); err != nil {
		return "", err
	}
	return Prefix + "/" + strings.ReplaceAll(run, ".", "~"), nil
}

// nonce returns 8 random hex digits.
func nonce() string {
	b := make([]byte, 4)
	_, _ = rand.Read(b)
	return hex.EncodeToString(b)
}

// NewLease returns a lease for this process, named name (empty: host and
// process ID).
func NewLease(name string) Lease {
	if name == "" {
		host, _ := os.Hostname()
		name = fmt.Sprintf("shardwise on %s, pid %d", host, os.Getpid())
	}
	b := make([]byte, 16)
	_, _ = rand.Read(b)
	return Lease{ID: hex.EncodeToString(b), Name: name}
}

// Store reads and writes runs' state as Nomad Variables in one namespace.
type Store struct {
	Client *api.Client
	// Namespace is where the run's variables live: its jobs' namespace;
	// "" means the client's.
	Namespace string
	// TTL is the lease period; zero means DefaultTTL.
	TTL time.Duration
}

func (s *Store) ttl() time.Duration {
	if s.TTL > 0 {
		return s.TTL
	}
	return DefaultTTL
}

func (s *Store) q(ctx context.Context) *api.QueryOptions {
	return (&api.QueryOptions{Namespace: s.Namespace}).WithContext(ctx)
}

func (s *Store) w(ctx context.Context) *api.WriteOptions {
	return (&api.WriteOptions{Namespace: s.Namespace}).WithContext(ctx)
}

// Held is a run held by this process's lease: the only handle that
// writes progress.
type Held struct {
	s     *Store
	head  *Head
	lease Lease
}

// Head returns the head as last written.
func (h *Held) Head() Head { return *h.head }

// Lease returns the lease the run is held with.
func (h *Held) Lease() Lease { return h.lease }

// Store returns the store the run is held in.
func (h *Held) Store() *Store { return h.s }

// Create stores a new run's spec and head, held by lease. It returns an
// error wrapping ErrExists when the run is already stored (by anyone),
// and leaves nothing behind on any error.
func (s *Store) Create(ctx context.Context, spec *Spec, lease Lease) (*Held, error) {
	if spec == nil || spec.Plan == nil {
		return nil, errors.New("create run state: a spec with a plan is required")
	}
	run := spec.Plan.Run
	path, err := Path(run)
	if err != nil {
		return nil, err
	}
	if err := s.checkNew(ctx, run, path); err != nil {
		return nil, err
	}
	now := time.Now()
	ref, err := s.putBlob(ctx, path+"/spec/"+nonce(), spec)
	if err != nil {
		return nil, err
	}
	h := &Head{Version: Version, Run: run, Graph: spec.Plan.Graph, Status: Running, Created: now,
		Shards: len(spec.Plan.Shards), Predicted: spec.Plan.MakespanSeconds, Spec: ref,
		Progress: &Progress{}, namespace: s.Namespace}
	held := &Held{s: s, head: h, lease: lease}
	if err := held.write(ctx, h, true); err != nil {
		s.deleteAll(ctx, ref.Paths)
		var ce api.ErrCASConflict
		if errors.As(err, &ce) {
			return nil, fmt.Errorf("run %s: %w (variable %s)", run, ErrExists, path)
		}
		return nil, err
	}
	return held, nil
}

// CheckNew returns an error wrapping ErrExists when run is already stored
// (by anyone), as Create does, so that a command can refuse a run ID
// before it prints or writes anything; Create checks again.
func (s *Store) CheckNew(ctx context.Context, run string) error {
	path, err := Path(run)
	if err != nil {
		return err
	}
	return s.checkNew(ctx, run, path)
}

func (s *Store) checkNew(ctx context.Context, run, path string) error {
	if old, _, err := s.Client.Variables().Peek(path, s.q(ctx)); err != nil {
		return fmt.Errorf("read %s: %w", path, err)
	} else if old != nil {
		return fmt.Errorf("run %s: %w (variable %s)", run, ErrExists, path)
	}
	return nil
}

// Load reads run's head, with its progress. It returns an error wrapping
// ErrNotFound, ErrIncompatible or ErrCorrupt as the doc says.
func (s *Store) Load(ctx context.Context, run string) (*Head, error) {
	path, err := Path(run)
	if err != nil {
		return nil, err
	}
	v, _, err := s.Client.Variables().Peek(path, s.q(ctx))
	if err != nil {
		return nil, fmt.Errorf("read %s: %w", path, err)
	}
	if v == nil {
		return nil, fmt.Errorf("run %s: %w in Nomad (variable %s, namespace %s)", run, ErrNotFound, path, nsName(s.Namespace))
	}
	return s.headOf(ctx, v)
}

// headOf decodes a head variable and reads its progress chunks.
func (s *Store) headOf(ctx context.Context, v *api.Variable) (*Head, error) {
	raw, ok := v.Items[itemKey]
	if !ok {
		return nil, fmt.Errorf("variable %s: %w: no %s item", v.Path, ErrCorrupt, itemKey)
	}
	var msg json.RawMessage
	if err := decode(raw, &msg); err != nil {
		return nil, fmt.Errorf("variable %s: %w", v.Path, err)
	}
	var ver struct {
		Version int `json:"version"`
	}
	if err := json.Unmarshal(msg, &ver); err != nil {
		return nil, fmt.Errorf("variable %s: %w: %v", v.Path, ErrCorrupt, err)
	}
	if ver.Version != Version {
		return nil, fmt.Errorf("variable %s: %w: format %d, this Shardwise reads format %d", v.Path, ErrIncompatible, ver.Version, Version)
	}
	h := &Head{}
	if err := json.Unmarshal(msg, h); err != nil {
		return nil, fmt.Errorf("variable %s: %w: %v", v.Path, ErrCorrupt, err)
	}
	if h.Status == "" || h.Run == "" {
		return nil, fmt.Errorf("variable %s: %w: no run or status", v.Path, ErrCorrupt)
	}
	h.index, h.namespace = v.ModifyIndex, v.Namespace
	if h.ProgressRef != nil {
		p := &Progress{}
		if err := s.getBlob(ctx, *h.ProgressRef, p); err != nil {
			return nil, err
		}
		h.Progress = p
	}
	if h.Progress == nil {
		h.Progress = &Progress{}
	}
	return h, nil
}

// Spec reads the spec h names.
func (s *Store) Spec(ctx context.Context, h *Head) (*Spec, error) {
	spec := &Spec{}
	if err := s.getBlob(ctx, h.Spec, spec); err != nil {
		return nil, err
	}
	if spec.Plan == nil || spec.Plan.Run != h.Run {
		return nil, fmt.Errorf("run %s: %w: the spec holds no plan of the run", h.Run, ErrCorrupt)
	}
	return spec, nil
}

// Acquire takes run for lease, when it has not ended and no other live
// lease holds it, and returns it with its spec. It returns a *HeldError
// naming the holder when another launcher holds it (or won the race for
// it), and an error wrapping ErrEnded when the run has ended. It writes
// nothing on error.
func (s *Store) Acquire(ctx context.Context, run string, lease Lease) (*Held, *Spec, error) {
	h, err := s.Load(ctx, run)
	if err != nil {
		return nil, nil, err
	}
	if h.Status.Ended() {
		return nil, nil, fmt.Errorf("run %s: %w (%s)", run, ErrEnded, h.Outcome())
	}
	now := time.Now()
	if h.Driven(now) && h.Holder.ID != lease.ID {
		return nil, nil, &HeldError{Run: run, Holder: *h.Holder}
	}
	spec, err := s.Spec(ctx, h)
	if err != nil {
		return nil, nil, err
	}
	held := &Held{s: s, head: h, lease: lease}
	next := *h
	if err := held.write(ctx, &next, true); err != nil {
		return nil, nil, s.conflict(ctx, run, err)
	}
	return held, spec, nil
}

// RemovedError is the error, wrapping ErrEnded, of a run whose stored
// state was removed while a launcher drove it ('shardwise stop -purge'
// removes it before it purges the run's jobs): the run is over.
func RemovedError(run string) error {
	return fmt.Errorf("run %s: %w: its stored state was removed from Nomad (shardwise stop -purge)", run, ErrEnded)
}

// conflict turns a check-and-set conflict on run's head into the error
// that says who holds the run now, or that it ended.
func (s *Store) conflict(ctx context.Context, run string, err error) error {
	var ce api.ErrCASConflict
	if !errors.As(err, &ce) {
		return err
	}
	h, lerr := s.Load(ctx, run)
	switch {
	case errors.Is(lerr, ErrNotFound):
		return RemovedError(run)
	case lerr != nil:
		return fmt.Errorf("run %s changed under this launcher and cannot be read: %w", run, lerr)
	case h.Status.Ended():
		return fmt.Errorf("run %s: %w (%s)", run, ErrEnded, h.Outcome())
	case h.Holder != nil:
		return &HeldError{Run: run, Holder: *h.Holder}
	}
	return fmt.Errorf("run %s changed under this launcher: %w", run, err)
}

// Save writes p as the run's progress and renews the lease. It fails with
// a *HeldError or an error wrapping ErrEnded when the run was taken over
// or stopped since the last write; the caller must then stop driving it.
func (h *Held) Save(ctx context.Context, p *Progress) error {
	next := *h.head
	next.Progress = p
	if err := h.write(ctx, &next, true); err != nil {
		return h.s.conflict(ctx, h.head.Run, err)
	}
	return nil
}

// Renew extends the lease, keeping the progress last saved.
func (h *Held) Renew(ctx context.Context) error { return h.Save(ctx, h.head.Progress) }

// Finish records that the run ended with status and reason (empty for a
// complete run), with its last progress, and gives the lease up.
func (h *Held) Finish(ctx context.Context, status Status, reason string, p *Progress) error {
	next := *h.head
	next.Status, next.Reason, next.Progress = status, reason, p
	next.Holder = nil
	if err := h.write(ctx, &next, false); err != nil {
		return h.s.conflict(ctx, h.head.Run, err)
	}
	return nil
}

// Release gives the lease up without ending the run, so that another
// launcher can resume it at once.
func (h *Held) Release(ctx context.Context, p *Progress) error {
	next := *h.head
	next.Progress = p
	next.Holder = nil
	if err := h.write(ctx, &next, false); err != nil {
		return h.s.conflict(ctx, h.head.Run, err)
	}
	return nil
}

// write stores next as the head with check-and-set on the current head's
// index (create when there is none), holding h's lease when hold is set
// and the run goes on, and moves h to it. Progress too big for the
// head goes into chunks of a new generation, written first; the old
// generation's chunks are removed after.
func (h *Held) write(ctx context.Context, next *Head, hold bool) error {
	s := h.s
	path, err := Path(next.Run)
	if err != nil {
		return err
	}
	now := time.Now()
	next.Updated = now
	next.Gen = h.head.Gen + 1
	next.Holder = nil
	if hold && !next.Status.Ended() {
		l := h.lease
		l.Acquired = now
		if h.head.Holder != nil && h.head.Holder.ID == l.ID {
			l.Acquired = h.head.Holder.Acquired
		}
		l.Expires = now.Add(s.ttl())
		next.Holder = &l
	}
	next.ProgressRef = nil
	text, err := encode(next)
	if err != nil {
		return fmt.Errorf("encode the head of run %s: %w", next.Run, err)
	}
	var newRef *blobRef
	if len(text) > ChunkBytes {
		// The writer's nonce keeps a concurrent writer's chunks (whose
		// head write will fail) apart from these.
		ref, err := s.putBlob(ctx, path+"/progress/"+strconv.FormatUint(next.Gen, 10)+"-"+nonce(), next.Progress)
		if err != nil {
			return err
		}
		newRef = &ref
		inline := *next
		inline.Progress, inline.ProgressRef = nil, newRef
		if text, err = encode(&inline); err != nil {
			return fmt.Errorf("encode the head of run %s: %w", next.Run, err)
		}
		if len(text) > ChunkBytes {
			s.deleteAll(ctx, ref.Paths)
			return fmt.Errorf("the head of run %s is %d bytes encoded, over Nomad's variable limit", next.Run, len(text))
		}
	}
	v := &api.Variable{Path: path, Items: api.VariableItems{itemKey: text}, ModifyIndex: h.head.index}
	var out *api.Variable
	if h.head.index == 0 {
		out, _, err = s.Client.Variables().CheckedCreate(v, s.w(ctx))
	} else {
		out, _, err = s.Client.Variables().CheckedUpdate(v, s.w(ctx))
	}
	if err != nil {
		if newRef != nil {
			s.deleteAll(ctx, newRef.Paths)
		}
		return fmt.Errorf("write %s: %w", path, err)
	}
	if old := h.head.ProgressRef; old != nil {
		s.deleteAll(ctx, old.Paths)
	}
	next.ProgressRef = newRef
	next.index, next.namespace = out.ModifyIndex, out.Namespace
	h.head = next
	return nil
}

// putBlob writes v's encoding into chunk variables under prefix.
func (s *Store) putBlob(ctx context.Context, prefix string, v any) (blobRef, error) {
	text, err := encode(v)
	if err != nil {
		return blobRef{}, fmt.Errorf("encode %s: %w", prefix, err)
	}
	ref := blobRef{SHA256: digest(text), Bytes: len(text)}
	for i, part := range split(text) {
		p := fmt.Sprintf("%s/%d", prefix, i)
		v := &api.Variable{Path: p, Items: api.VariableItems{itemKey: part}}
		if _, _, err := s.Client.Variables().Create(v, s.w(ctx)); err != nil {
			s.deleteAll(ctx, ref.Paths)
			return blobRef{}, fmt.Errorf("write %s: %w", p, err)
		}
		ref.Paths = append(ref.Paths, p)
	}
	return ref, nil
}

// getBlob reads the chunks ref names, checks their digest and decodes
// them into v.
func (s *Store) getBlob(ctx context.Context, ref blobRef, v any) error {
	var b strings.Builder
	for _, p := range ref.Paths {
		c, _, err := s.Client.Variables().Peek(p, s.q(ctx))
		if err != nil {
			return fmt.Errorf("read %s: %w", p, err)
		}
		if c == nil {
			return fmt.Errorf("variable %s: %w: the chunk is missing", p, ErrCorrupt)
		}
		b.WriteString(c.Items[itemKey])
	}
	text := b.String()
	if len(ref.Paths) == 0 || digest(text) != ref.SHA256 {
		return fmt.Errorf("variables %s: %w: the chunks do not match their SHA-256", strings.Join(ref.Paths, ", "), ErrCorrupt)
	}
	if err := decode(text, v); err != nil {
		return fmt.Errorf("variables %s: %w", strings.Join(ref.Paths, ", "), err)
	}
	return nil
}

// deleteAll removes variables, best effort (used to clean up after a
// failed write, where the first error is the one to report).
func (s *Store) deleteAll(ctx context.Context, paths []string) {
	for _, p := range paths {
		_, _ = s.Client.Variables().Delete(p, s.w(context.WithoutCancel(ctx)))
	}
}

// Stop marks run stopped with reason, whoever holds it: its holder's next
// write fails with ErrEnded, and no launcher resumes it. A run that has
// already ended is left as it is. It returns the head as it is now.
func (s *Store) Stop(ctx context.Context, run, reason string) (*Head, error) {
	for {
		h, err := s.Load(ctx, run)
		if err != nil {
			return nil, err
		}
		if h.Status.Ended() {
			return h, nil
		}
		held := &Held{s: s, head: h}
		next := *h
		next.Status, next.Reason, next.Holder = Stopped, reason, nil
		err = held.write(ctx, &next, false)
		var ce api.ErrCASConflict
		if errors.As(err, &ce) {
			continue // its holder wrote progress meanwhile: try again
		}
		if err != nil {
			return nil, err
		}
		return held.head, nil
	}
}

// Purge removes every variable of run and returns their paths. It
// returns an error wrapping ErrNotFound when nothing of run is stored.
func (s *Store) Purge(ctx context.Context, run string) ([]string, error) {
	path, err := Path(run)
	if err != nil {
		return nil, err
	}
	metas, _, err := s.Client.Variables().PrefixList(path+"/", s.q(ctx))
	if err != nil {
		return nil, fmt.Errorf("list %s/: %w", path, err)
	}
	paths := []string{path}
	for _, m := range metas {
		paths = append(paths, m.Path)
	}
	var done []string
	for _, p := range paths {
		if _, err := s.Client.Variables().Delete(p, s.w(ctx)); err != nil {
			var ue api.UnexpectedResponseError
			if errors.As(err, &ue) && ue.StatusCode() == 404 {
				continue
			}
			return done, fmt.Errorf("delete %s: %w", p, err)
		}
		done = append(done, p)
	}
	return done, nil
}

// List reads the heads of every run stored in the store's namespace ("*"
// for all), sorted by creation time. A head that cannot be decoded is
// returned with its error in errs, not left out silently.
func (s *Store) List(ctx context.Context) (heads []*Head, errs []error, err error) {
	metas, _, err := s.Client.Variables().PrefixList(Prefix+"/", s.q(ctx))
	if err != nil {
		return nil, nil, fmt.Errorf("list %s/: %w", Prefix, err)
	}
	for _, m := range metas {
		if strings.Count(strings.TrimPrefix(m.Path, Prefix+"/"), "/") != 0 {
			continue
		}
		ns := &Store{Client: s.Client, Namespace: m.Namespace, TTL: s.TTL}
		v, _, err := s.Client.Variables().Peek(m.Path, ns.q(ctx))
		if err != nil {
			return nil, nil, fmt.Errorf("read %s: %w", m.Path, err)
		}
		if v == nil {
			continue // removed since listed
		}
		h, err := ns.headOf(ctx, v)
		if err != nil {
			errs = append(errs, err)
			continue
		}
		heads = append(heads, h)
	}
	slices.SortFunc(heads, func(a, b *Head) int { return a.Created.Compare(b.Created) })
	return heads, errs, nil
}

// Namespace returns the namespace the head was read from.
func (h *Head) Namespace() string { return h.namespace }

// Outcome is the run's status with the reason it ended, if any:
// "complete", "failed: shard s002-b failed ...".
func (h *Head) Outcome() string {
	if h.Reason == "" {
		return string(h.Status)
	}
	return string(h.Status) + ": " + h.Reason
}

func nsName(ns string) string {
	if ns == "" {
		return "default"
	}
	return ns
}

func shortID(id string) string {
	if len(id) > 8 {
		return id[:8]
	}
	return id
}

// Period returns the lease period: TTL, or DefaultTTL when zero.
func (s *Store) Period() time.Duration { return s.ttl() }
