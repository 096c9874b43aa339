// Package fsutil holds the file-system helpers that both the driver and
// the planner need, which may not import each other.
package fsutil

import (
	"errors"
	"fmt"
	"os"
)

// SyncDir fsyncs directory dir so that a rename or a new entry in it
// survives a crash (rename(2) is atomic but not durable until the
// directory is synced). A platform where directories cannot be synced
// (os.ErrInvalid) is not an error. It returns the open or sync error,
// wrapped with dir.
func SyncDir(dir string) error {
	d, err := os.Open(dir)
	if err != nil {
		return fmt.Errorf("sync directory: %w", err)
	}
	defer d.Close()
	if err := d.Sync(); err != nil && !errors.Is(err, os.ErrInvalid) {
		return fmt.Errorf("sync directory %s: %w", dir, err)
	}
	return nil
}
