package client

import (
	"math/rand/v2"
	"time"
)

// backoff is exponential with full jitter (a uniformly random wait in
// [0, min(max, base*2^attempt)]), so that devices cut at the same moment
// do not return at the same moment.
type backoff struct {
	base, max time.Duration
	attempt   int
}

func (b *backoff) next() time.Duration {
	d := b.base << min(b.attempt, 30)
	if d <= 0 || d > b.max {
		d = b.max
	}
	b.attempt++
	return rand.N(d + 1)
}

func (b *backoff) reset() { b.attempt = 0 }

// window returns a uniformly random wait in [min, max] (the relay's
// RetryLater window).
func window(minMs, maxMs uint32) time.Duration {
	lo, hi := time.Duration(minMs)*time.Millisecond, time.Duration(maxMs)*time.Millisecond
	if hi <= lo {
		return lo
	}
	return lo + rand.N(hi-lo+1)
}
