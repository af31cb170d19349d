package data

import (
	"errors"
	"fmt"
)

// Batch is a minibatch as plain slices. Image batches fill X (N*Dim floats,
// example-major) and Labels (N); text batches fill Tokens (N*Seq ids) and
// Labels (N*Seq next-word targets). Unused fields are empty.
type Batch struct {
	X      []float32
	Tokens []int32
	Labels []int32
	N      int
}

// Gatherer is a data set a Loader can draw from.
type Gatherer interface {
	// Len is the number of examples.
	Len() int
	// Gather copies the examples at idx into b, reusing b's buffers.
	Gather(b *Batch, idx []int)
}

// Loader hands out minibatches over a subset of a data set, one epoch after
// another. With a Source each epoch visits the examples in a fresh shuffled
// order; the sequence of batches depends only on the Source's output, so it
// is the same on every platform. The last batch of an epoch is smaller when
// the batch size does not divide the count.
type Loader struct {
	set     Gatherer
	order   []int
	batch   int
	src     Source
	pos     int
	epoch   int
	started bool
	buf     Batch
}

// NewLoader returns a loader over the examples of set listed in indices (all
// of them when indices is nil), batchSize at a time. A nil src keeps the
// given order (for evaluation). The loader copies indices.
func NewLoader(set Gatherer, indices []int, batchSize int, src Source) (*Loader, error) {
	if set == nil {
		return nil, errors.New("data: NewLoader: nil data set")
	}
	if batchSize < 1 {
		return nil, fmt.Errorf("data: NewLoader: batch size %d, want >= 1", batchSize)
	}
	n := set.Len()
	var order []int
	if indices == nil {
		order = make([]int, n)
		for i := range order {
			order[i] = i
		}
	} else {
		order = make([]int, len(indices))
		for k, i := range indices {
			if i < 0 || i >= n {
				return nil, fmt.Errorf("data: NewLoader: index %d (position %d) is outside the data set of %d examples", i, k, n)
			}
			order[k] = i
		}
	}
	return &Loader{set: set, order: order, batch: batchSize, src: src}, nil
}

// Len returns the number of examples per epoch.
func (l *Loader) Len() int { return len(l.order) }

// Batches returns the number of batches per epoch.
func (l *Loader) Batches() int { return (len(l.order) + l.batch - 1) / l.batch }

// Epoch returns the number of epochs started so far.
func (l *Loader) Epoch() int { return l.epoch }

// Next returns the next batch of the current epoch, starting (and
// shuffling) a new epoch first if none is in progress. It returns false at
// the end of each epoch; the following call begins the next one. The
// batch's slices are reused by the next call.
func (l *Loader) Next() (Batch, bool) {
	if !l.started {
		if len(l.order) == 0 {
			return Batch{}, false
		}
		l.started = true
		l.pos = 0
		l.epoch++
		if l.src != nil {
			Shuffle(l.order, l.src)
		}
	}
	if l.pos >= len(l.order) {
		l.started = false
		return Batch{}, false
	}
	end := min(l.pos+l.batch, len(l.order))
	l.set.Gather(&l.buf, l.order[l.pos:end])
	l.pos = end
	return l.buf, true
}

// Order returns the visiting order of the current epoch (shared, do not
// modify). Useful for logging and tests.
func (l *Loader) Order() []int { return l.order }
