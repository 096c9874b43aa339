package app

import (
	"context"
	"errors"
	"fmt"
	"os"

	"github.com/shardwise/shardwise/feedback"
	"github.com/shardwise/shardwise/planner/catalog"
	"github.com/shardwise/shardwise/planner/history"
	"github.com/shardwise/shardwise/translator/wfcommons"
)

// ImportHistory upserts records into the SQLite history store at path
// (created if missing) and returns how many records the store then holds.
// Records are keyed by source, run and task, so importing the same
// records twice writes no duplicates.
func ImportHistory(path string, records []history.Record) (int, error) {
	ctx := context.Background()
	store, err := feedback.Open(ctx, path)
	if err != nil {
		return 0, err
	}
	defer store.Close()
	if err := store.Put(ctx, records); err != nil {
		return 0, fmt.Errorf("write records to %s: %w", path, err)
	}
	n, err := store.Count(ctx)
	if err != nil {
		return 0, err
	}
	return n, store.Close()
}

// ImportRequest is a WfCommons trace to import ('shardwise import
// wfcommons').
type ImportRequest struct {
	// Trace is the trace file (WfFormat 1.4 or 1.5), Out the folder its
	// graph.hcl and history.jsonl go into, and DB, when not "", a SQLite
	// history store its records also go into (created if missing).
	Trace, Out, DB string
	// TimeScale scales every time written (wfcommons.Options.TimeScale;
	// positive and finite).
	TimeScale float64
	// Replay makes each task's command emulate its recorded run
	// (wfcommons.Replay) doing Work, at the speeds of the executor catalog
	// file Catalog over the default ("": the default).
	Replay        bool
	Work, Catalog string
}

// Import imports req.Trace (wfcommons.ImportOptions) and writes it into
// req.Out and req.DB (WriteImport: all or nothing); it returns the
// import (graph, records, warnings). Errors: a catalog with errors
// (*DiagnosticsError, loaded only with Replay), a trace that does not
// import, a folder or store that cannot be written.
func Import(req ImportRequest) (*wfcommons.Result, error) {
	opts := wfcommons.Options{TimeScale: req.TimeScale}
	if req.Replay {
		cat, diags := catalog.Load(req.Catalog)
		if diags.HasErrors() {
			return nil, &DiagnosticsError{Diags: diags}
		}
		opts.Replay = &wfcommons.Replay{Catalog: cat, Work: req.Work}
	}
	res, err := wfcommons.ImportOptions(req.Trace, opts)
	if err != nil {
		return nil, err
	}
	if _, err := WriteImport(req.Out, req.DB, res); err != nil {
		return nil, err
	}
	return res, nil
}

// WriteImport writes an imported trace into the folder dir
// (wfcommons.WriteDir: graph.hcl, history.jsonl, licences; all or
// nothing) and, when db is not "", its records into the SQLite history
// store db (created if missing), returning how many records the store then
// holds. The store is opened first, so a store that cannot be opened
// leaves dir unwritten, and a store created here is removed again when dir
// cannot be written.
func WriteImport(dir, db string, res *wfcommons.Result) (stored int, err error) {
	if db == "" {
		return 0, wfcommons.WriteDir(dir, res)
	}
	ctx := context.Background()
	_, statErr := os.Stat(db)
	created := errors.Is(statErr, os.ErrNotExist)
	store, err := feedback.Open(ctx, db)
	if err != nil {
		return 0, err
	}
	defer store.Close()
	if err := wfcommons.WriteDir(dir, res); err != nil {
		if created && store.Close() == nil {
			for _, p := range []string{db, db + "-wal", db + "-shm"} {
				os.Remove(p)
			}
		}
		return 0, err // it names the folder
	}
	if err := store.Put(ctx, res.Records); err != nil {
		return 0, fmt.Errorf("write records to %s: %w", db, err)
	}
	if stored, err = store.Count(ctx); err != nil {
		return 0, err
	}
	return stored, store.Close()
}
