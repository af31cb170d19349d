package wasmcore

import (
	"context"
	"strings"
	"sync"
	"testing"

	"github.com/murmur-fl/murmur/runtime/kernels"
	"github.com/tetratelabs/wazero/api"
	"github.com/tetratelabs/wazero/experimental"
)

// callCounter counts calls of every guest function, by name.
type callCounter struct {
	mu sync.Mutex
	n  map[string]int
}

func (c *callCounter) NewFunctionListener(def api.FunctionDefinition) experimental.FunctionListener {
	name := def.DebugName()
	return experimental.FunctionListenerFunc(func(context.Context, api.Module, api.FunctionDefinition, []uint64, experimental.StackIterator) {
		c.mu.Lock()
		c.n[name]++
		c.mu.Unlock()
	})
}

func (c *callCounter) reset() map[string]int {
	c.mu.Lock()
	defer c.mu.Unlock()
	old := c.n
	c.n = map[string]int{}
	return old
}

// TestStepsDoNoGCWork checks that training steps after a set-up which
// allocated megabytes run with the collector idle: no write barriers, no
// marking. A reactor module runs no goroutine between calls, so a cycle
// left in its mark phase by one export would tax every later step (the
// core settles the heap before an export returns).
func TestStepsDoNoGCWork(t *testing.T) {
	calls := &callCounter{n: map[string]int{}}
	ctx := experimental.WithFunctionListenerFactory(context.Background(), calls)
	e, err := NewEngine(ctx, coreBytes(t), &Config{Accel: kernels.Portable{}})
	if err != nil {
		t.Fatal(err)
	}
	defer e.Close(context.Background())
	c, err := e.NewCore(ctx)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close(ctx)
	if err := c.UseAccel(ctx, true); err != nil {
		t.Fatal(err)
	}
	// The benchmark's MLP and 25 MB of examples: set-up starts collections.
	d := synthetic(8192, 784, 10, 5)
	if err := c.Load(ctx, []byte(`{"input":[784],"layers":[{"type":"dense","units":128},{"type":"relu"},{"type":"dense","units":10}],"loss":"softmax_xent"}`), 11); err != nil {
		t.Fatal(err)
	}
	if err := c.SetData(ctx, 0, d); err != nil {
		t.Fatal(err)
	}
	init, err := c.Params(ctx, nil)
	if err != nil {
		t.Fatal(err)
	}
	if err := c.BeginRound(ctx, init, []byte(adamOpt)); err != nil {
		t.Fatal(err)
	}
	if _, err := c.Train(ctx, 2, 128, 3); err != nil { // buffers grow here
		t.Fatal(err)
	}
	// A large allocation last, as when a host loads evaluation data after
	// training started: it starts a cycle that nothing else would finish.
	if err := c.SetData(ctx, 1, synthetic(8192, 784, 10, 6)); err != nil {
		t.Fatal(err)
	}
	setup := calls.reset()
	if setup[".runtime.gcStart"] == 0 {
		t.Fatalf("set-up started no collection, so this test proves nothing: %d guest functions called", len(setup))
	}
	for i := 0; i < 5; i++ {
		if _, err := c.Train(ctx, 1, 128, 3); err != nil {
			t.Fatal(err)
		}
	}
	steps := calls.reset()
	// At least 5: a goroutine's stack growth in wasm unwinds and re-enters
	// the frames on it, which the listener counts again.
	if n := steps[".github.com_murmur_fl_murmur_runtime_train.__Session_.Train"]; n < 5 {
		t.Fatalf("counted %d calls of Session.Train, want 5: the listener does not see the core's functions", n)
	}
	for name, n := range steps {
		for _, gc := range []string{"gcWriteBarrier", "bulkBarrierPreWrite", "greyobject", "gcDrain", "gcAssistAlloc", "mallocgc"} {
			if strings.Contains(name, gc) {
				t.Errorf("5 steps called %s %d times: the collector works during steps", name, n)
			}
		}
	}
}

// TestRoundsDoNotAccumulateGarbage runs 40 rounds that each load 4 MB of
// new data and checkpoint, in a 64 MiB instance: with the core's automatic
// collection off, this passes only if the set-up exports collect.
func TestRoundsDoNotAccumulateGarbage(t *testing.T) {
	ctx := context.Background()
	e := newEngine(t, &Config{MemoryLimitPages: 1024})
	c, err := e.NewCore(ctx)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close(ctx)
	if err := c.Load(ctx, []byte(mlpSpec), 11); err != nil {
		t.Fatal(err)
	}
	for round := range 40 {
		if err := c.SetData(ctx, 0, synthetic(16384, 64, 10, uint64(round))); err != nil {
			t.Fatalf("round %d: %v", round, err)
		}
		p, err := c.Params(ctx, nil)
		if err != nil {
			t.Fatal(err)
		}
		if err := c.BeginRound(ctx, p, []byte(adamOpt)); err != nil {
			t.Fatalf("round %d: %v", round, err)
		}
		if _, err := c.Train(ctx, 2, 32, uint64(round)); err != nil {
			t.Fatalf("round %d: %v", round, err)
		}
		if _, err := c.Checkpoint(ctx); err != nil {
			t.Fatalf("round %d: %v", round, err)
		}
	}
}

// TestStepCalls counts what one training step of the benchmark's MLP does
// across the boundary: host calls (the batched kernels) and guest function
// calls, each of which may cost a deadline check in wazero.
//
//	go test -run StepCalls -v ./host/wasmcore
func TestStepCalls(t *testing.T) {
	calls := &callCounter{n: map[string]int{}}
	ctx := experimental.WithFunctionListenerFactory(context.Background(), calls)
	e, err := NewEngine(ctx, coreBytes(t), &Config{Accel: kernels.Portable{}})
	if err != nil {
		t.Fatal(err)
	}
	defer e.Close(context.Background())
	c, err := e.NewCore(ctx)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close(ctx)
	if err := c.UseAccel(ctx, true); err != nil {
		t.Fatal(err)
	}
	if err := c.Load(ctx, []byte(`{"input":[784],"layers":[{"type":"dense","units":128},{"type":"relu"},{"type":"dense","units":10}],"loss":"softmax_xent"}`), 11); err != nil {
		t.Fatal(err)
	}
	if err := c.SetData(ctx, 0, synthetic(256, 784, 10, 5)); err != nil {
		t.Fatal(err)
	}
	p, err := c.Params(ctx, nil)
	if err != nil {
		t.Fatal(err)
	}
	if err := c.BeginRound(ctx, p, []byte(adamOpt)); err != nil {
		t.Fatal(err)
	}
	const steps = 80 // ten epochs of 8 batches of 32
	for range 20 {
		if _, err := c.Train(ctx, 1, 32, 3); err != nil {
			t.Fatal(err)
		}
	}
	count := func() (host, guest int) {
		for name, n := range calls.reset() {
			if strings.HasPrefix(name, "murmur_accel.") {
				host += n
			} else {
				guest += n
			}
		}
		return host, guest
	}
	calls.reset()
	for range steps {
		if _, err := c.Train(ctx, 1, 32, 3); err != nil {
			t.Fatal(err)
		}
	}
	host, guest := count()
	t.Logf("per MLP b32 step, one train call per step: %.2f host calls, %.1f guest calls", float64(host)/steps, float64(guest)/steps)
	// The step's end, and an epoch's shuffle every eighth step: no answer
	// from the host is needed within a step (ABI 2: 17 calls; ABI 3: 3).
	if host > steps+steps/8 {
		t.Errorf("%.2f host calls per step, want at most 1.125", float64(host)/steps)
	}
	if _, err := c.Train(ctx, steps, 32, 3); err != nil {
		t.Fatal(err)
	}
	host, guest = count()
	t.Logf("per MLP b32 step, %d steps in one train call: %.2f host calls, %.1f guest calls", steps, float64(host)/steps, float64(guest)/steps)
	// A shuffle per epoch, and a full batch (256 entries) every 18 steps
	// or so: 10 + 5, plus the call's end.
	if host > 16 {
		t.Errorf("%d host calls for %d queued steps, want at most 16", host, steps)
	}
}
