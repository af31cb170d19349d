package agent

import "context"

// Trainer is the training core as the device loop sees it. host/wasmcore
// implements it with the wasm core in wazero; NativeTrainer implements it
// with the same runtime linked natively; the browser supplies one backed by
// its own WebAssembly engine. All hold the same state machine
// (runtime/train.Session), so they agree bit for bit given the same kernels.
type Trainer interface {
	// Load builds the model from its JSON spec with parameters initialised
	// from seed, dropping any earlier model, data and optimizer state.
	Load(ctx context.Context, spec []byte, seed uint64) error
	// NumParams is the length of the flat parameter vector.
	NumParams() int
	// BeginRound makes global the round's starting (and FedProx centre)
	// parameters and resets the optimizer with the JSON optim.Config opt.
	BeginRound(ctx context.Context, global []float32, opt []byte) error
	// SetData gives the core a data set: slot 0 trains, slot 1 evaluates.
	SetData(ctx context.Context, slot int, d Dataset) error
	// Train runs steps optimizer steps of batch examples each; seed fixes
	// the shuffle of slot 0.
	Train(ctx context.Context, steps, batch int, seed uint64) (Stats, error)
	// Evaluate runs the model over a slot without training.
	Evaluate(ctx context.Context, slot, batch int) (Stats, error)
	// Params copies the current parameters into dst (grown as needed).
	Params(ctx context.Context, dst []float32) ([]float32, error)
	// Update copies params - global into dst (grown as needed).
	Update(ctx context.Context, dst []float32) ([]float32, error)
	// Checkpoint serialises the whole training state; Restore resumes it.
	Checkpoint(ctx context.Context) ([]byte, error)
	Restore(ctx context.Context, ckpt []byte) error
	// Close releases the core.
	Close(ctx context.Context) error
}

// Dataset is a device's local examples. Dense models use X (N × input
// size, batch-major); token models use Tokens (N × sequence length).
// Labels holds the targets: one class id per example, or for sequence
// models one next-word id per position (N × sequence length, -1 ignored).
type Dataset struct {
	X      []float32
	Tokens []int32
	Labels []int32
	N      int
}

// Stats is what a Train or Evaluate call reports.
type Stats struct {
	Loss     float32 // mean loss
	Accuracy float32 // top-1, in [0,1]
	Top3     float32 // top-3 accuracy, in [0,1]
	Examples int     // examples processed
	Steps    int     // optimizer steps taken (Train)
}
