package relay

import (
	"math/rand/v2"
	"slices"

	"github.com/murmur-fl/murmur/sync/wire"
)

// Coordinator makes the two decisions of a round that a federation of
// relays (edge aggregators under a root) moves up to its root: who takes
// part, and how the round's combined update becomes the next global model.
// The relay keeps the mechanism (sessions, transfers, validation,
// aggregation, the store, deadlines). Config.Coordinator nil means
// LocalCoordinator: random over-selection and the configured server
// optimizer.
type Coordinator interface {
	// Select picks at most want devices among the eligible connected ones.
	Select(round uint64, eligible []DeviceInfo, want int) []string
	// Apply returns the next model's parameters and server-optimizer state
	// from the current model and the round's combined delta (weight: the
	// total example count, or the number of updates for robust rules;
	// reported: how many updates were counted). It must not modify cur.
	Apply(round uint64, cur Committed, delta []float32, weight float64, reported int) (params []float32, optState []byte, err error)
}

// DeviceInfo describes an eligible device to a Coordinator.
type DeviceInfo struct {
	ID   string
	Caps wire.Capabilities
}

// LocalCoordinator is the single-relay Coordinator.
type LocalCoordinator struct {
	// Optimizer is the server optimizer (see OptimizerConfig).
	Optimizer OptimizerConfig
	// Seed, if not 0, makes each round's choice depend only on the seed,
	// the round number and the eligible ids (reproducible simulations).
	// Default: random.
	Seed uint64
}

// Select implements Coordinator: a uniformly random subset.
func (c LocalCoordinator) Select(round uint64, eligible []DeviceInfo, want int) []string {
	ids := make([]string, len(eligible))
	for i, d := range eligible {
		ids[i] = d.ID
	}
	shuffle := rand.Shuffle
	if c.Seed != 0 {
		slices.Sort(ids)
		shuffle = rand.New(rand.NewPCG(c.Seed, round)).Shuffle
	}
	shuffle(len(ids), func(i, j int) { ids[i], ids[j] = ids[j], ids[i] })
	return ids[:min(want, len(ids))]
}

// Apply implements Coordinator: one server-optimizer step from the state
// stored with cur (so a failed commit leaves nothing half-applied).
func (c LocalCoordinator) Apply(_ uint64, cur Committed, delta []float32, _ float64, _ int) ([]float32, []byte, error) {
	opt, err := NewOptimizer(c.Optimizer, len(cur.Params))
	if err != nil {
		return nil, nil, err
	}
	if err := opt.UnmarshalBinary(cur.OptState); err != nil {
		return nil, nil, err
	}
	params := slices.Clone(cur.Params)
	opt.Step(params, delta)
	st, err := opt.MarshalBinary()
	return params, st, err
}
