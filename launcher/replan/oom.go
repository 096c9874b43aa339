package replan

import (
	"math"

	"github.com/hashicorp/nomad/api"

	"github.com/shardwise/shardwise/feedback"
	"github.com/shardwise/shardwise/launcher"
	"github.com/shardwise/shardwise/planner/catalog"
	"github.com/shardwise/shardwise/planner/history"
)

// OOMRetryFactor multiplies the memory an OOM-killed execution died at to
// size its retry (issue 9: an OOM retry doubles memory). Doubling reaches
// any need within log2(need/limit) retries, where the predictor's 1.25
// headroom (predict.OOMHeadroom) took about three times as many.
const OOMRetryFactor = 2.0

// OOMRetry returns the launcher's OOM retry policy for a run planned on
// cat (launcher.Options.OOMRetry): a failed allocation that
// feedback.OOMRecord calls OOM-killed is registered again with
// RetryMemoryMiB of what it died at on its class. cat may be nil (no
// bound but the factor).
func OOMRetry(cat *catalog.Catalog) launcher.OOMRetryFunc {
	return func(a *api.Allocation) (int64, bool) {
		rec, ok := feedback.OOMRecord(a)
		if !ok {
			return 0, false
		}
		var cl *catalog.Class
		if cat != nil {
			cl = cat.Class(rec.Executor)
		}
		return RetryMemoryMiB(rec, rec.MemoryLimitBytes>>20, cl), true
	}
}

// RetryMemoryMiB is the memory, in MiB, to retry an OOM-killed execution
// r with: OOMRetryFactor times what it died at (the largest of its
// observed peak, its limit, which is memory_max on a class that
// oversubscribes, and current, the MiB it asked for), at most the
// instance memory of its class cl (Shape.MemoryMiB; nil or 0 bounds
// nothing). A result at or below current means no larger retry fits the
// class. For a record that was not OOM-killed it returns current.
func RetryMemoryMiB(r history.Record, current int64, cl *catalog.Class) int64 {
	if !r.OOMKilled {
		return current
	}
	died := float64(max(r.MemoryBytes, r.MemoryLimitBytes, current<<20)) / (1 << 20)
	mib := int64(math.Ceil(died * OOMRetryFactor))
	if cl != nil && cl.Shape.MemoryMiB > 0 {
		mib = min(mib, cl.Shape.MemoryMiB)
	}
	return mib
}
