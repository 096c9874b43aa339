package app

import (
	"context"
	"fmt"

	"github.com/shardwise/shardwise/feedback"
	"github.com/shardwise/shardwise/planner/history"
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
