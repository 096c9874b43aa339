package channel

import (
	"context"
	"math/rand/v2"
	"time"

	"github.com/shardwise/shardwise/internal/ctxutil"
)

// RetryPolicy bounds the attempts of a transfer. Attempts that made progress
// (received at least one verified frame) do not count against Attempts, so a
// connection that breaks repeatedly but keeps moving finishes; Attempts
// failures in a row mean the upstream is gone for good (ErrUpstreamGone).
type RetryPolicy struct {
	// Attempts is the number of consecutive failed attempts allowed
	// (default 8).
	Attempts int
	// Initial is the delay after the first failure (default 200ms); each
	// further failure multiplies it by 2, up to Max (default 10s). Delays
	// are jittered by ±20%.
	Initial, Max time.Duration
}

// DefaultRetryPolicy gives up after 8 failures in a row, about 25 s.
var DefaultRetryPolicy = RetryPolicy{Attempts: 8, Initial: 200 * time.Millisecond, Max: 10 * time.Second}

func (p RetryPolicy) withDefaults() RetryPolicy {
	if p.Attempts <= 0 {
		p.Attempts = DefaultRetryPolicy.Attempts
	}
	if p.Initial <= 0 {
		p.Initial = DefaultRetryPolicy.Initial
	}
	if p.Max < p.Initial {
		p.Max = max(DefaultRetryPolicy.Max, p.Initial)
	}
	return p
}

// Delay returns the wait before the attempt that follows failure number
// failures (1 for the first), without jitter: Initial·2^(failures-1),
// capped at Max.
func (p RetryPolicy) Delay(failures int) time.Duration {
	p = p.withDefaults()
	d := p.Initial
	for i := 1; i < failures && d < p.Max; i++ {
		d *= 2
	}
	return min(d, p.Max)
}

// wait blocks for the jittered Delay(failures) or until ctx ends.
func (p RetryPolicy) wait(ctx context.Context, failures int) error {
	d := p.Delay(failures)
	return ctxutil.Sleep(ctx, time.Duration(float64(d)*(0.8+0.4*rand.Float64())))
}
