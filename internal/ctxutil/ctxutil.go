// Package ctxutil holds the one context-aware sleep the launcher, the
// feedback service and the driver's channels share.
package ctxutil

import (
	"context"
	"time"
)

// Sleep waits for d, or until ctx ends, when it returns ctx.Err().
func Sleep(ctx context.Context, d time.Duration) error {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-t.C:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}
