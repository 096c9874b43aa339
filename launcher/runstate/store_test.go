package runstate_test

import (
	"context"
	"crypto/rand"
	"encoding/base64"
	"encoding/hex"
	"errors"
	"fmt"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/hashicorp/nomad/api"
	"github.com/klauspost/compress/zstd"

	"github.com/shardwise/shardwise/e2e/cluster"
	"github.com/shardwise/shardwise/launcher/runstate"
	"github.com/shardwise/shardwise/planner/plan"
)

// server is one Nomad server with ACLs for the package's tests.
var server struct {
	once sync.Once
	s    *cluster.Server
}

// testServer starts (once per test binary) a real Nomad server with ACLs
// enabled and returns it with a management client.
func testServer(t *testing.T) (*cluster.Server, *api.Client) {
	t.Helper()
	if testing.Short() {
		t.Skip("starts a Nomad server")
	}
	// One server per test: a test restarts it, and t.Cleanup stops it.
	s := cluster.StartServer(t, true)
	return s, s.Client(t, s.Token)
}

// spec returns a spec of n shards whose jobs carry about pad bytes of
// incompressible text each, so that tests can push it over a chunk.
func spec(run string, n, pad int) *runstate.Spec {
	p := &plan.Plan{Schema: "test", Graph: "g", Run: run, MakespanSeconds: 42}
	sp := &runstate.Spec{Plan: p, Options: runstate.Options{Retries: 2}, Inputs: runstate.Inputs{Graph: []byte("graph \"g\" {}")}}
	for i := range n {
		id := fmt.Sprintf("s%03d", i)
		job := fmt.Sprintf("g-%s-%s", run, id)
		p.Shards = append(p.Shards, &plan.Shard{ID: id, Job: job, Class: "cpu-heavy"})
		b := make([]byte, pad/2)
		_, _ = rand.Read(b)
		sp.Jobs = append(sp.Jobs, &api.Job{ID: new(job), Name: new(job), Meta: map[string]string{"pad": hex.EncodeToString(b)}})
	}
	return sp
}

func TestCreateLoadSpec(t *testing.T) {
	_, c := testServer(t)
	ctx := context.Background()
	st := &runstate.Store{Client: c}
	// 40 jobs of 4 KiB of random text: the spec needs several chunks.
	sp := spec("r.1", 40, 4096)
	lease := runstate.NewLease("test one")
	held, err := st.Create(ctx, sp, lease)
	if err != nil {
		t.Fatal(err)
	}
	if h := held.Head(); h.Holder == nil || h.Holder.ID != lease.ID || h.Status != runstate.Running || h.Shards != 40 {
		t.Fatalf("head after create: %+v", h)
	}
	h, err := st.Load(ctx, "r.1")
	if err != nil {
		t.Fatal(err)
	}
	got, err := st.Spec(ctx, h)
	if err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff(sp, got); diff != "" {
		t.Errorf("spec read back differs (-want +got):\n%s", diff)
	}
	metas, _, err := c.Variables().PrefixList("shardwise/runs/r~1/spec/", nil)
	if err != nil {
		t.Fatal(err)
	}
	if len(metas) < 2 {
		t.Errorf("spec of %d bytes in %d chunk variables, want several", 40*4096, len(metas))
	}
	if _, err := st.Create(ctx, spec("r.1", 1, 0), runstate.NewLease("test two")); !errors.Is(err, runstate.ErrExists) {
		t.Errorf("second create: %v, want ErrExists", err)
	}
	after, _, _ := c.Variables().PrefixList("shardwise/runs/r~1/spec/", nil)
	if len(after) != len(metas) {
		t.Errorf("refused create left variables: %d spec chunks, was %d", len(after), len(metas))
	}
}

func TestLeaseIsExclusive(t *testing.T) {
	_, c := testServer(t)
	ctx := context.Background()
	st := &runstate.Store{Client: c, TTL: 2 * time.Second}
	a := runstate.NewLease("launcher A")
	held, err := st.Create(ctx, spec("lease", 2, 0), a)
	if err != nil {
		t.Fatal(err)
	}
	b := runstate.NewLease("launcher B")
	_, _, err = st.Acquire(ctx, "lease", b)
	var he *runstate.HeldError
	if !errors.As(err, &he) || he.Holder.Name != "launcher A" {
		t.Fatalf("acquire while held: %v, want a HeldError naming launcher A", err)
	}
	if !strings.Contains(err.Error(), "launcher A") {
		t.Errorf("message does not name the holder: %v", err)
	}
	// A lapses: several launchers race for the run; exactly one wins.
	time.Sleep(2500 * time.Millisecond)
	const racers = 4
	var wg sync.WaitGroup
	errs := make([]error, racers)
	for i := range racers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			_, _, errs[i] = st.Acquire(ctx, "lease", runstate.NewLease(fmt.Sprintf("racer %d", i)))
		}()
	}
	wg.Wait()
	won := 0
	for _, err := range errs {
		switch {
		case err == nil:
			won++
		case errors.As(err, &he):
		default:
			t.Errorf("racer: %v, want a win or a HeldError", err)
		}
	}
	if won != 1 {
		t.Errorf("%d racers won the run, want 1 (%v)", won, errs)
	}
	// A, whose lease lapsed and was taken, may not write any more.
	if err := held.Save(ctx, &runstate.Progress{}); !errors.As(err, &he) {
		t.Errorf("save by the lapsed holder: %v, want a HeldError", err)
	}
}

func TestProgressChunksAndStop(t *testing.T) {
	_, c := testServer(t)
	ctx := context.Background()
	st := &runstate.Store{Client: c}
	held, err := st.Create(ctx, spec("big", 1, 0), runstate.NewLease("big one"))
	if err != nil {
		t.Fatal(err)
	}
	// Progress of 3000 units with random allocation IDs: over a chunk.
	p := &runstate.Progress{Units: map[string]*runstate.Unit{}}
	for i := range 3000 {
		b := make([]byte, 16)
		_, _ = rand.Read(b)
		p.Units[fmt.Sprintf("job-%04d", i)] = &runstate.Unit{Attempts: 1, State: "complete",
			Pieces: []runstate.Piece{{Alloc: hex.EncodeToString(b), Node: "n1", Actual: time.Second}}}
	}
	if err := held.Save(ctx, p); err != nil {
		t.Fatal(err)
	}
	h, err := st.Load(ctx, "big")
	if err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff(p, h.Progress); diff != "" {
		t.Fatalf("progress read back differs (-want +got):\n%s", diff)
	}
	first, _, _ := c.Variables().PrefixList("shardwise/runs/big/progress/", nil)
	if len(first) < 2 {
		t.Fatalf("%d progress chunks, want several", len(first))
	}
	p.Units["job-0000"].State = "failed"
	if err := held.Save(ctx, p); err != nil {
		t.Fatal(err)
	}
	second, _, _ := c.Variables().PrefixList("shardwise/runs/big/progress/", nil)
	for _, m := range second {
		for _, old := range first {
			if m.Path == old.Path {
				t.Errorf("old progress chunk %s kept after the next save", m.Path)
			}
		}
	}
	// stop ends the run whoever holds it: the holder's next write fails.
	if _, err := st.Stop(ctx, "big", "stopped by test"); err != nil {
		t.Fatal(err)
	}
	if err := held.Renew(ctx); !errors.Is(err, runstate.ErrEnded) {
		t.Errorf("renew after stop: %v, want ErrEnded", err)
	}
	if _, _, err := st.Acquire(ctx, "big", runstate.NewLease("late")); !errors.Is(err, runstate.ErrEnded) {
		t.Errorf("acquire after stop: %v, want ErrEnded", err)
	}
	paths, err := st.Purge(ctx, "big")
	if err != nil {
		t.Fatal(err)
	}
	if len(paths) < 4 {
		t.Errorf("purge removed %v", paths)
	}
	left, _, _ := c.Variables().PrefixList("shardwise/", nil)
	if len(left) != 0 {
		t.Errorf("purge left %d variables", len(left))
	}
	if _, err := st.Load(ctx, "big"); !errors.Is(err, runstate.ErrNotFound) {
		t.Errorf("load after purge: %v, want ErrNotFound", err)
	}
}

func TestBadState(t *testing.T) {
	s, c := testServer(t)
	ctx := context.Background()
	st := &runstate.Store{Client: c}
	if _, err := st.Load(ctx, "nosuch"); !errors.Is(err, runstate.ErrNotFound) || !strings.Contains(err.Error(), "nosuch") {
		t.Errorf("unknown run: %v", err)
	}
	if _, err := st.Load(ctx, "bad/run"); err == nil || !strings.Contains(err.Error(), "run ID") {
		t.Errorf("bad run ID: %v", err)
	}
	put := func(path, text string) {
		t.Helper()
		if _, _, err := c.Variables().Create(&api.Variable{Path: path, Items: api.VariableItems{"zstd_b64": text}}, nil); err != nil {
			t.Fatal(err)
		}
	}
	put("shardwise/runs/garbage", "not base64 at all!")
	if _, err := st.Load(ctx, "garbage"); !errors.Is(err, runstate.ErrCorrupt) {
		t.Errorf("garbage head: %v, want ErrCorrupt", err)
	}
	// A head of a future format.
	zw, _ := zstd.NewWriter(nil)
	put("shardwise/runs/v99", base64.StdEncoding.EncodeToString(zw.EncodeAll([]byte(`{"version":99,"run":"v99","status":"running"}`), nil)))
	if _, err := st.Load(ctx, "v99"); !errors.Is(err, runstate.ErrIncompatible) || !strings.Contains(err.Error(), "format 99") {
		t.Errorf("head of format 99: %v, want ErrIncompatible", err)
	}
	fut, err := st.Create(ctx, spec("future", 1, 0), runstate.NewLease("x"))
	if err != nil {
		t.Fatal(err)
	}
	if err := fut.Release(ctx, nil); err != nil {
		t.Fatal(err)
	}
	v, _, err := c.Variables().Read("shardwise/runs/future", nil)
	if err != nil {
		t.Fatal(err)
	}
	put("shardwise/runs/future2", v.Items["zstd_b64"]) // a valid head under another name...
	if _, err := st.Load(ctx, "future2"); err != nil {
		t.Fatalf("copied head: %v", err)
	}
	// ...then one whose spec chunk is damaged.
	sv, _, err := c.Variables().Read("shardwise/runs/future/spec/"+mustFirstSpec(t, c), nil)
	if err != nil {
		t.Fatal(err)
	}
	sv.Items["zstd_b64"] = "AAAA" + sv.Items["zstd_b64"][4:]
	if _, _, err := c.Variables().Update(sv, nil); err != nil {
		t.Fatal(err)
	}
	h, err := st.Load(ctx, "future")
	if err != nil {
		t.Fatal(err)
	}
	if _, err := st.Spec(ctx, h); !errors.Is(err, runstate.ErrCorrupt) {
		t.Errorf("damaged spec: %v, want ErrCorrupt", err)
	}
	if _, _, err := st.Acquire(ctx, "future", runstate.NewLease("y")); !errors.Is(err, runstate.ErrCorrupt) {
		t.Errorf("acquire with a damaged spec: %v, want ErrCorrupt", err)
	}
	// ACLs: an anonymous client may neither read nor write run state.
	anon := &runstate.Store{Client: s.Client(t, "")}
	if _, err := anon.Load(ctx, "future2"); err == nil || !strings.Contains(err.Error(), "403") {
		t.Errorf("load without a token: %v, want a 403", err)
	}
	if _, err := anon.Create(ctx, spec("anon", 1, 0), runstate.NewLease("z")); err == nil {
		t.Error("create without a token succeeded")
	}
}

// mustFirstSpec returns the "<nonce>/0" suffix of run future's first spec
// chunk.
func mustFirstSpec(t *testing.T, c *api.Client) string {
	t.Helper()
	metas, _, err := c.Variables().PrefixList("shardwise/runs/future/spec/", nil)
	if err != nil || len(metas) == 0 {
		t.Fatalf("spec chunks: %v %v", metas, err)
	}
	return strings.TrimPrefix(metas[0].Path, "shardwise/runs/future/spec/")
}

func TestStateSurvivesServerRestart(t *testing.T) {
	s, c := testServer(t)
	ctx := context.Background()
	st := &runstate.Store{Client: c}
	held, err := st.Create(ctx, spec("durable", 3, 0), runstate.NewLease("before restart"))
	if err != nil {
		t.Fatal(err)
	}
	p := &runstate.Progress{Units: map[string]*runstate.Unit{"j": {Attempts: 2, State: "complete"}}}
	if err := held.Save(ctx, p); err != nil {
		t.Fatal(err)
	}
	s.Restart(t)
	st = &runstate.Store{Client: s.Client(t, s.Token)}
	var h *runstate.Head
	// The restarted server may need a moment to restore its keyring.
	deadline := time.Now().Add(30 * time.Second)
	for {
		h, err = st.Load(ctx, "durable")
		if err == nil || time.Now().After(deadline) {
			break
		}
		time.Sleep(200 * time.Millisecond)
	}
	if err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff(p, h.Progress); diff != "" {
		t.Errorf("progress after restart differs (-want +got):\n%s", diff)
	}
	if _, err := st.Spec(ctx, h); err != nil {
		t.Errorf("spec after restart: %v", err)
	}
	heads, errs, err := st.List(ctx)
	if err != nil || len(errs) > 0 || len(heads) != 1 || heads[0].Run != "durable" {
		t.Errorf("list: %v %v %v", heads, errs, err)
	}
}
