package history

import (
	"context"
	"fmt"
)

// Source yields history records. A JSON Lines file is a File; the feedback
// service's SQLite store (package feedback) is another Source.
type Source interface {
	// Records returns every record of the source, in the source's order.
	Records(ctx context.Context) ([]Record, error)
}

// File is a JSON Lines history file at the given path (see Load).
type File string

// Records loads the file; it fails as Load does.
func (f File) Records(ctx context.Context) ([]Record, error) {
	if err := ctx.Err(); err != nil {
		return nil, fmt.Errorf("read history %s: %w", string(f), err)
	}
	return Load(string(f))
}

// LoadAll concatenates the records of sources in order. It stops at the
// first source that fails, returning its error.
func LoadAll(ctx context.Context, sources ...Source) ([]Record, error) {
	var all []Record
	for _, s := range sources {
		recs, err := s.Records(ctx)
		if err != nil {
			return nil, err
		}
		all = append(all, recs...)
	}
	return all, nil
}
