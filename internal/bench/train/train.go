// Package train is the `murmur bench train` suite: training throughput in
// examples/s for the built-in models, rows "train/<case>/<variant>".
//
// The native variants (this package) run runtime/train sessions (the code
// the wasm core runs) on synthetic data in one goroutine, with the portable
// or the native kernels. Other variants (the wasm core, offload backends,
// anchors) register themselves with AddVariant from their own packages and
// reuse Cases, SpecFor and Dataset, so every variant trains the same model
// on the same data and is measured by the same loop, interleaved in one run.
package train

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"sync"
	"time"

	"github.com/murmur-fl/murmur/host/accel"
	"github.com/murmur-fl/murmur/internal/bench"
	"github.com/murmur-fl/murmur/runtime/kernels"
	"github.com/murmur-fl/murmur/runtime/nn"
	"github.com/murmur-fl/murmur/runtime/optim"
	"github.com/murmur-fl/murmur/runtime/tensor"
	rtrain "github.com/murmur-fl/murmur/runtime/train"
)

func init() {
	bench.Register(bench.Suite{
		Name: "train",
		Doc:  "training examples/s: MLP b32/b128, CNN b64, GRU b32 (native, plus registered variants)",
		Run:  run,
	})
}

// Case is one benchmarked training configuration.
type Case struct {
	Name  string // "mlp-b128"
	Model string // nn.Builtin name
	Batch int
}

// Cases are the DESIGN.md rows, in output order.
func Cases() []Case {
	return []Case{
		{"mlp-b32", "mlp", 32},
		{"mlp-b128", "mlp", 128},
		{"cnn-b64", "cnn", 64},
		{"gru-b32", "gru", 32},
	}
}

// Seed is the model seed every variant uses.
const Seed = 1

// Optimizer is the optimizer every variant uses (SGD with momentum: its
// cost is small next to the model's and the same everywhere).
var Optimizer = optim.Config{Name: "sgd", LR: 0.01, Momentum: 0.9}

// SpecFor returns the model spec of c.
func SpecFor(c Case) (nn.Spec, error) { return nn.Builtin(c.Model) }

// Batches returns count synthetic batches of n examples for m: inputs
// uniform in [0,1) (or uniform tokens), uniform labels, from seed.
func Batches(m *nn.Model, n, count int, seed uint64) []nn.Batch {
	r := tensor.NewRNG(seed)
	out := make([]nn.Batch, count)
	for k := range out {
		b := nn.Batch{N: n, Labels: make([]int32, n*m.LabelsPerExample())}
		if m.TokenInput() {
			b.Tokens = make([]int32, n*m.InputSize())
			for i := range b.Tokens {
				b.Tokens[i] = int32(r.Intn(m.Vocab()))
			}
		} else {
			b.X = make([]float32, n*m.InputSize())
			r.Uniform(b.X, 0, 1)
		}
		for i := range b.Labels {
			b.Labels[i] = int32(r.Intn(m.Classes()))
		}
		out[k] = b
	}
	return out
}

// Variant is a way of training a Case. New prepares it and returns run,
// which runs that many training steps on the next synthetic batches in one
// call (as a device runs a round's local steps), and done, which releases
// resources; an error skips the variant for that case (the reason is
// logged).
type Variant struct {
	Name    string
	Kernels string // the kernels backend an in-process variant runs (for the row)
	New     func(c Case) (run func(steps int) error, done func(), err error)
}

// StepsPerCall is how many steps each call of a variant's run makes: the
// local steps of a round with murmur simulate's defaults, which a device
// trains in one call (one Train of host/agent.Trainer, one `train` export
// of the wasm core).
const StepsPerCall = 20

var (
	mu       sync.Mutex
	variants = []Variant{
		{Name: "native", Kernels: "go", New: func(c Case) (func(int) error, func(), error) { return newNative(c, kernels.Portable{}) }},
		// The same native model with the host's native GEMM: the baseline
		// that wasm+native offload is compared with.
		{Name: "native+native", Kernels: "native", New: func(c Case) (func(int) error, func(), error) { return newNativeWith(c, "native") }},
		// The same on one goroutine: the baseline for wasm+native-1t (a
		// device sharing its cores, or many simulated devices).
		{Name: "native+native-1t", Kernels: "native-1t", New: func(c Case) (func(int) error, func(), error) {
			return newNative(c, accel.Native{Threads: 1})
		}},
	}
)

// Named returns the registered variant called name.
func Named(name string) (Variant, bool) {
	mu.Lock()
	defer mu.Unlock()
	for _, v := range variants {
		if v.Name == name {
			return v, true
		}
	}
	return Variant{}, false
}

// AddVariant registers v to run after the native variant (call from init).
func AddVariant(v Variant) {
	mu.Lock()
	defer mu.Unlock()
	variants = append(variants, v)
}

// newNativeWith is newNative with the host/accel backend of that name.
func newNativeWith(c Case, backend string) (func(int) error, func(), error) {
	b, ok := accel.Lookup(backend)
	if !ok {
		return nil, nil, fmt.Errorf("no %q accelerator backend on this machine", backend)
	}
	return newNative(c, b)
}

// Dataset is the case's synthetic data set as one slot: the examples of
// Batches(m, c.Batch, 4, 2), concatenated, for variants that batch and
// shuffle themselves (runtime/train sessions, natively and in the wasm core).
func Dataset(m *nn.Model, c Case) (x []float32, tokens, labels []int32, n int) {
	for _, b := range Batches(m, c.Batch, 4, 2) {
		x = append(x, b.X...)
		tokens = append(tokens, b.Tokens...)
		labels = append(labels, b.Labels...)
		n += b.N
	}
	return x, tokens, labels, n
}

// newNative trains with runtime/train's Session, the code the wasm core
// runs, linked natively: the same model, data, shuffling and batching as
// the wasm variants, so their ratio measures the boundary and nothing else.
// Backend b is installed as the kernels backend during each step (variants
// run interleaved, so each sets its own).
func newNative(c Case, b kernels.Backend) (func(int) error, func(), error) {
	spec, err := SpecFor(c)
	if err != nil {
		return nil, nil, err
	}
	s, err := rtrain.New(spec, Seed)
	if err != nil {
		return nil, nil, err
	}
	x, tokens, labels, n := Dataset(s.Model(), c)
	if err := s.SetData(rtrain.TrainSlot, x, tokens, labels, n); err != nil {
		return nil, nil, err
	}
	opt, err := json.Marshal(Optimizer)
	if err != nil {
		return nil, nil, err
	}
	if err := s.BeginRound(opt); err != nil {
		return nil, nil, err
	}
	run := func(steps int) error {
		old := kernels.Use(b)
		defer kernels.Use(old)
		_, err := s.Train(steps, c.Batch, 1)
		return err
	}
	return run, func() {}, nil
}

func run(ctx context.Context, cfg bench.Config, emit func(bench.Result)) error {
	mu.Lock()
	vs := append([]Variant(nil), variants...)
	mu.Unlock()
	runs, budget, target := 9, 3*time.Second, 250*time.Millisecond
	if cfg.Quick {
		runs, budget, target = 3, 50*time.Millisecond, 5*time.Millisecond
	}
	for _, c := range Cases() {
		if cfg.Quick {
			// Same models, tiny batches: the smoke test checks the plumbing,
			// not the numbers (the row's "batch" key says what ran).
			c.Batch = min(c.Batch, 4)
		}
		if err := ctx.Err(); err != nil {
			return err
		}
		for _, r := range MeasureAll(vs, c, runs, budget, target, cfg.Log) {
			emit(r)
		}
	}
	return nil
}

// MeasureAll times every variant on case c, interleaved: each round runs
// every variant once, so a change in the machine's load hits all variants
// alike and their ratios stay fair. Each variant's run is as many calls of
// StepsPerCall steps (of one step for a variant slower than target per
// step) as fill about target (at least one); rounds repeat
// until runs rounds, or until budget per variant is spent after at least
// 3. The value is examples/s at each variant's median run. A variant that
// fails to start or to step is skipped with the reason on log.
func MeasureAll(vs []Variant, c Case, runs int, budget, target time.Duration, log io.Writer) []bench.Result {
	type live struct {
		v       Variant
		run     func(int) error
		perCall int // steps per call: StepsPerCall, or 1 where a step overruns target
		calls   int
		ds      []time.Duration
	}
	var ls []*live
	for _, v := range vs {
		run, done, err := v.New(c)
		if err == nil {
			defer done()
			// Calibrate: a warm-up step, a timed step, then a call, and size
			// runs to the target. A variant whose one step takes longer
			// than the target (the in-guest wasm CNN and GRU) makes one-step
			// calls, whose per-call costs are then noise, so that its runs
			// leave time for the others'.
			err = run(1)
			t0 := time.Now()
			if err == nil {
				err = run(1)
			}
			if err == nil {
				perCall := StepsPerCall
				if time.Since(t0) > target {
					perCall = 1
				}
				t0 = time.Now()
				if err = run(perCall); err == nil {
					per := time.Since(t0)
					ls = append(ls, &live{v: v, run: run, perCall: perCall, calls: max(1, int(target/max(per, time.Microsecond)))})
					continue
				}
			}
		}
		fmt.Fprintf(log, "train/%s/%s: skipped: %v\n", c.Name, v.Name, err)
	}
	start := time.Now()
	for r := 0; r < runs && (r < 3 || time.Since(start) < budget*time.Duration(len(ls))); r++ {
		for _, l := range ls {
			if l.run == nil {
				continue
			}
			t := time.Now()
			var err error
			for i := 0; i < l.calls && err == nil; i++ {
				err = l.run(l.perCall)
			}
			if err != nil {
				fmt.Fprintf(log, "train/%s/%s: skipped: %v\n", c.Name, l.v.Name, err)
				l.run = nil
				continue
			}
			l.ds = append(l.ds, time.Since(t))
		}
	}
	var out []bench.Result
	for _, l := range ls {
		if l.run == nil {
			continue
		}
		st := bench.Summarize(l.ds)
		work := float64(l.calls * l.perCall * c.Batch)
		extra := st.Extra(work)
		extra["batch"] = c.Batch
		extra["steps_per_run"] = l.calls * l.perCall
		extra["steps_per_call"] = l.perCall
		if l.v.Kernels != "" {
			extra["kernels"] = l.v.Kernels
		}
		out = append(out, bench.Result{
			Bench: fmt.Sprintf("train/%s/%s", c.Name, l.v.Name),
			Value: st.Rate(work),
			Unit:  "examples/s",
			Extra: extra,
		})
	}
	return out
}
