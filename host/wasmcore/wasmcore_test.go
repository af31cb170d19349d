package wasmcore

import (
	"context"
	"errors"
	"math"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	hostaccel "github.com/murmur-fl/murmur/host/accel"
	"github.com/murmur-fl/murmur/host/agent"
	"github.com/murmur-fl/murmur/internal/corebuild"
	"github.com/murmur-fl/murmur/runtime/kernels"
	"github.com/murmur-fl/murmur/runtime/nn"
	"github.com/murmur-fl/murmur/runtime/tensor"
	"github.com/murmur-fl/murmur/runtime/train"
)

func coreBytes(t testing.TB) []byte {
	t.Helper()
	b, err := corebuild.Load(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// testCache shares compiled code between the tests' engines.
var testCache = filepath.Join(os.TempDir(), "murmur-wasmcore-test-cache")

func newEngine(t testing.TB, cfg *Config) *Engine {
	t.Helper()
	if cfg == nil {
		cfg = &Config{}
	}
	cfg.CacheDir = testCache
	e, err := NewEngine(context.Background(), coreBytes(t), cfg)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { e.Close(context.Background()) })
	return e
}

// buildBadCore builds testdata/badcore claiming ABI version abi.
func buildBadCore(t *testing.T, abi string) []byte {
	t.Helper()
	return buildTestModule(t, "badcore", abi)
}

// buildTestCore builds the test module testdata/<name> claiming this host's
// ABI version.
func buildTestCore(t *testing.T, name string) []byte {
	t.Helper()
	return buildTestModule(t, name, strconv.Itoa(ABIVersion))
}

func buildTestModule(t *testing.T, name, abi string) []byte {
	t.Helper()
	out := filepath.Join(t.TempDir(), name+".wasm")
	cmd := exec.Command("go", "build", "-buildmode=c-shared", "-ldflags=-X main.abi="+abi, "-o", out, "./testdata/"+name)
	cmd.Env = append(os.Environ(), "GOOS=wasip1", "GOARCH=wasm")
	if b, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("build badcore: %v\n%s", err, b)
	}
	b, err := os.ReadFile(out)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

const mlpSpec = `{"input":[64],"layers":[{"type":"dense","units":32},{"type":"relu"},{"type":"dense","units":10}],"loss":"softmax_xent"}`

func synthetic(n, dim, classes int, seed uint64) agent.Dataset {
	r := tensor.NewRNG(seed)
	d := agent.Dataset{X: make([]float32, n*dim), Labels: make([]int32, n), N: n}
	for i := 0; i < n; i++ {
		c := r.Intn(classes)
		d.Labels[i] = int32(c)
		for j := 0; j < dim; j++ {
			d.X[i*dim+j] = r.Float32()*0.5 + float32((j+c)%classes)/float32(classes)
		}
	}
	return d
}

const adamOpt = `{"name":"adam","lr":0.01}`

// trainNative runs the same steps through runtime/train directly.
func trainNative(t *testing.T, spec string, d agent.Dataset, steps int) []float32 {
	t.Helper()
	return trainNativeOpt(t, spec, adamOpt, d, steps)
}

func trainNativeOpt(t *testing.T, spec, opt string, d agent.Dataset, steps int) []float32 {
	t.Helper()
	sp, err := nn.ParseSpec([]byte(spec))
	if err != nil {
		t.Fatal(err)
	}
	s, err := train.New(sp, 11)
	if err != nil {
		t.Fatal(err)
	}
	if err := s.SetData(0, d.X, d.Tokens, d.Labels, d.N); err != nil {
		t.Fatal(err)
	}
	if err := s.BeginRound([]byte(opt)); err != nil {
		t.Fatal(err)
	}
	if _, err := s.Train(steps, 16, 3); err != nil {
		t.Fatal(err)
	}
	return append([]float32(nil), s.Params()...)
}

func trainWasm(t *testing.T, c *Core, spec string, d agent.Dataset, steps int) []float32 {
	t.Helper()
	return trainWasmOpt(t, c, spec, adamOpt, d, steps)
}

func trainWasmOpt(t *testing.T, c *Core, spec, opt string, d agent.Dataset, steps int) []float32 {
	t.Helper()
	ctx := context.Background()
	if err := c.Load(ctx, []byte(spec), 11); err != nil {
		t.Fatal(err)
	}
	if err := c.SetData(ctx, 0, d); err != nil {
		t.Fatal(err)
	}
	init, err := c.Params(ctx, nil)
	if err != nil {
		t.Fatal(err)
	}
	if err := c.BeginRound(ctx, init, []byte(opt)); err != nil {
		t.Fatal(err)
	}
	st, err := c.Train(ctx, steps, 16, 3)
	if err != nil {
		t.Fatal(err)
	}
	if st.Steps != steps || !(st.Loss > 0) {
		t.Fatalf("stats %+v", st)
	}
	p, err := c.Params(ctx, nil)
	if err != nil {
		t.Fatal(err)
	}
	return p
}

// Small models that between them use every kernel op (kernels.Ops):
// dense, conv2d, maxpool, every activation, dropout, embedding, GRU with
// outputs at every step and at the last step only, both losses, and every
// optimizer with clipping, weight decay and the FedProx term.
const (
	cnnSpec = `{"input":[2,9,9],"layers":[{"type":"conv2d","filters":4,"kernel":3,"pad":1},{"type":"relu"},{"type":"maxpool2d","kernel":2},` +
		`{"type":"conv2d","filters":3,"kernel":2,"stride":2},{"type":"tanh"},{"type":"maxpool2d","kernel":2,"stride":1},{"type":"flatten"},` +
		`{"type":"dense","units":10}],"loss":"softmax_xent"}`
	dropoutSpec = `{"input":[64],"layers":[{"type":"dense","units":32},{"type":"relu"},{"type":"dropout","rate":0.3},{"type":"dense","units":10}],"loss":"softmax_xent"}`
	gruSpec     = `{"input":[6],"layers":[{"type":"embedding","vocab":30,"dim":8},{"type":"gru","hidden":12},{"type":"dense","units":30}],"loss":"seq_xent"}`
	gruLastSpec = `{"input":[6],"layers":[{"type":"embedding","vocab":30,"dim":8},{"type":"gru","hidden":12,"last":true},{"type":"sigmoid"},{"type":"dense","units":5}],"loss":"softmax_xent"}`
)

// tokens is a synthetic token data set: sequences of t ids below vocab
// and labels per position (seq, some -1) or per sequence.
func tokens(n, t, vocab, classes int, seq bool, seed uint64) agent.Dataset {
	r := tensor.NewRNG(seed)
	d := agent.Dataset{Tokens: make([]int32, n*t), N: n}
	for i := range d.Tokens {
		d.Tokens[i] = int32(r.Intn(vocab))
	}
	rows := 1
	if seq {
		rows = t
	}
	d.Labels = make([]int32, n*rows)
	for i := range d.Labels {
		d.Labels[i] = int32(r.Intn(classes+1)) - 1
		if !seq && d.Labels[i] < 0 {
			d.Labels[i] = 0
		}
	}
	return d
}

// TestParityNativeVsWasm: the same model, seed, data and steps give
// bit-identical parameters natively and in the wasm core, with in-guest
// kernels and with the host running GEMM and every other kernel op through
// the imports ("go" and "exact" backends), for models that use every op.
func TestParityNativeVsWasm(t *testing.T) {
	cases := []struct {
		name, spec, opt string
		data            agent.Dataset
	}{
		{"mlp-adam", mlpSpec, adamOpt, synthetic(200, 64, 10, 1)},
		{"mlp-dropout", dropoutSpec, adamOpt, synthetic(200, 64, 10, 7)},
		{"cnn-momentum-prox", cnnSpec, `{"name":"sgd","lr":0.05,"momentum":0.9,"prox_mu":0.1,"weight_decay":0.001}`, synthetic(60, 2*9*9, 10, 2)},
		{"gru-adam-clip", gruSpec, `{"name":"adam","lr":0.01,"clip_norm":0.5}`, tokens(40, 6, 30, 30, true, 3)},
		{"gru-last-sgd", gruLastSpec, `{"name":"sgd","lr":0.1}`, tokens(40, 6, 30, 5, false, 4)},
	}
	for _, tc := range cases {
		want := trainNativeOpt(t, tc.spec, tc.opt, tc.data, 12)
		for _, accel := range []kernels.Backend{nil, kernels.Portable{}, hostaccel.Exact{}} {
			name := tc.name + "/in-guest"
			if accel != nil {
				name = tc.name + "/accel=" + accel.Name()
			}
			t.Run(name, func(t *testing.T) {
				e := newEngine(t, &Config{Accel: accel})
				c, err := e.NewCore(context.Background())
				if err != nil {
					t.Fatal(err)
				}
				defer c.Close(context.Background())
				if accel != nil {
					if err := c.UseAccel(context.Background(), true); err != nil {
						t.Fatal(err)
					}
				}
				got := trainWasmOpt(t, c, tc.spec, tc.opt, tc.data, 12)
				if len(got) != len(want) {
					t.Fatalf("%d params, want %d", len(got), len(want))
				}
				for i := range want {
					if math.Float32bits(got[i]) != math.Float32bits(want[i]) {
						t.Fatalf("param %d: wasm %v, native %v (not bit-identical)", i, got[i], want[i])
					}
				}
			})
		}
	}
}

// TestParityNativeAccel: with the FMA-using native backend the result is
// not bit-identical (fused multiply-adds round differently) but stays
// within 1e-4 relative (L2) of the native run after 25 Adam steps.
func TestParityNativeAccel(t *testing.T) {
	native, ok := hostaccel.Lookup("native")
	if !ok {
		t.Skip("host/accel has no native backend on this platform")
	}
	d := synthetic(200, 64, 10, 1)
	want := trainNative(t, mlpSpec, d, 25)
	e := newEngine(t, &Config{Accel: native})
	c, err := e.NewCore(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close(context.Background())
	if err := c.UseAccel(context.Background(), true); err != nil {
		t.Fatal(err)
	}
	got := trainWasm(t, c, mlpSpec, d, 25)
	var diff, norm float64
	for i := range want {
		dd := float64(got[i] - want[i])
		diff += dd * dd
		norm += float64(want[i]) * float64(want[i])
	}
	if rel := math.Sqrt(diff / norm); rel > 1e-4 {
		t.Fatalf("relative L2 difference %.3g > 1e-4", rel)
	} else {
		t.Logf("relative L2 difference with native accel: %.3g", rel)
	}
}

func TestCheckpointAcrossInstances(t *testing.T) {
	ctx := context.Background()
	e := newEngine(t, nil)
	d := synthetic(100, 64, 10, 2)
	a, _ := e.NewCore(ctx)
	defer a.Close(ctx)
	full := trainWasm(t, a, mlpSpec, d, 10)

	b, _ := e.NewCore(ctx)
	trainWasm(t, b, mlpSpec, d, 4)
	ck, err := b.Checkpoint(ctx)
	if err != nil {
		t.Fatal(err)
	}
	b.Close(ctx) // the device process dies

	c, _ := e.NewCore(ctx)
	defer c.Close(ctx)
	if err := c.Load(ctx, []byte(mlpSpec), 11); err != nil {
		t.Fatal(err)
	}
	if err := c.SetData(ctx, 0, d); err != nil {
		t.Fatal(err)
	}
	if err := c.Restore(ctx, ck); err != nil {
		t.Fatal(err)
	}
	if _, err := c.Train(ctx, 6, 16, 3); err != nil {
		t.Fatal(err)
	}
	got, _ := c.Params(ctx, nil)
	for i := range full {
		if got[i] != full[i] {
			t.Fatalf("param %d after resume %v, uninterrupted %v", i, got[i], full[i])
		}
	}
	u, err := c.Update(ctx, nil)
	if err != nil || len(u) != len(got) {
		t.Fatalf("Update: %v (%d values)", err, len(u))
	}
	if err := c.Restore(ctx, ck[:len(ck)-3]); !errors.Is(err, ErrInput) || !strings.Contains(err.Error(), "checkpoint") {
		t.Fatalf("truncated checkpoint: %v", err)
	}
}

func TestCoreInputErrors(t *testing.T) {
	ctx := context.Background()
	e := newEngine(t, nil)
	c, _ := e.NewCore(ctx)
	defer c.Close(ctx)
	if _, err := c.Train(ctx, 1, 1, 0); !errors.Is(err, ErrState) {
		t.Errorf("train before load: %v", err)
	}
	err := c.Load(ctx, []byte(`{"input":[4],"layers":[{"type":"warp"}],"loss":"softmax_xent"}`), 1)
	if !errors.Is(err, ErrInput) || !strings.Contains(err.Error(), "warp") {
		t.Errorf("unknown layer: %v", err)
	}
	if err := c.Load(ctx, []byte(mlpSpec), 1); err != nil {
		t.Fatal(err)
	}
	if err := c.SetData(ctx, 0, agent.Dataset{X: make([]float32, 10), Labels: []int32{0}, N: 1}); !errors.Is(err, ErrInput) {
		t.Errorf("wrong input size: %v", err)
	}
	layout, err := c.LayoutJSON(ctx)
	if err != nil || !strings.Contains(string(layout), "offset") {
		t.Errorf("layout: %v %s", err, layout)
	}
	// The instance is still usable after input errors.
	trainWasm(t, c, mlpSpec, synthetic(32, 64, 10, 1), 2)
}

// healthy checks the engine still makes working instances after a failure.
func healthy(t *testing.T, e *Engine) {
	t.Helper()
	c, err := e.NewCore(context.Background())
	if err != nil {
		t.Fatalf("engine unhealthy after failure: %v", err)
	}
	defer c.Close(context.Background())
	if v, err := c.call(context.Background(), "abi_version"); err != nil || v != ABIVersion {
		t.Fatalf("abi_version after failure: %v %v", v, err)
	}
}

func TestLimitsRealCore(t *testing.T) {
	ctx := context.Background()
	t.Run("out of memory", func(t *testing.T) {
		e := newEngine(t, &Config{MemoryLimitPages: 512}) // 32 MiB
		c, err := e.NewCore(ctx)
		if err != nil {
			t.Fatal(err)
		}
		big := `{"input":[784],"layers":[{"type":"dense","units":16384}],"loss":"softmax_xent"}` // 12.8M params: 51 MiB
		err = c.Load(ctx, []byte(big), 1)
		if !errors.Is(err, ErrOutOfMemory) {
			t.Fatalf("err = %v, want ErrOutOfMemory", err)
		}
		if _, err := c.Train(ctx, 1, 1, 1); !errors.Is(err, ErrClosed) {
			t.Fatalf("call after OOM: %v, want ErrClosed", err)
		}
		healthy(t, e)
	})
	t.Run("deadline", func(t *testing.T) {
		e := newEngine(t, &Config{CallTimeout: 300 * time.Millisecond})
		c, _ := e.NewCore(ctx)
		d := synthetic(64, 64, 10, 1)
		c.Load(ctx, []byte(mlpSpec), 1)
		c.SetData(ctx, 0, d)
		p, _ := c.Params(ctx, nil)
		c.BeginRound(ctx, p, []byte(`{"lr":0.1}`))
		start := time.Now()
		_, err := c.Train(ctx, 1<<30, 64, 1)
		if !errors.Is(err, ErrDeadline) {
			t.Fatalf("err = %v, want ErrDeadline", err)
		}
		if el := time.Since(start); el > 10*time.Second {
			t.Fatalf("deadline took %v to fire", el)
		}
		healthy(t, e)
	})
}

func TestLimitsMisbehavingGuest(t *testing.T) {
	ctx := context.Background()
	e, err := NewEngine(ctx, buildBadCore(t, strconv.Itoa(ABIVersion)), &Config{MemoryLimitPages: 4096, CallTimeout: 3 * time.Second, CacheDir: testCache})
	if err != nil {
		t.Fatal(err)
	}
	defer e.Close(ctx)
	for _, c := range []struct {
		export string
		want   error
		detail string
	}{
		{"do_panic", ErrTrap, "deliberate panic"},
		{"do_trap", ErrTrap, "out of bounds"},
		{"do_loop", ErrDeadline, "deadline"},
		{"do_oom", ErrOutOfMemory, "out of memory"},
	} {
		t.Run(c.export, func(t *testing.T) {
			core, err := e.NewCore(ctx)
			if err != nil {
				t.Fatal(err)
			}
			_, err = core.call(ctx, c.export)
			if !errors.Is(err, c.want) {
				t.Fatalf("err = %v, want %v", err, c.want)
			}
			if !strings.Contains(err.Error(), c.detail) {
				t.Errorf("error %q does not explain itself (want %q)", err, c.detail)
			}
			other, err := e.NewCore(ctx)
			if err != nil {
				t.Fatal(err)
			}
			if v, err := other.call(ctx, "ok"); err != nil || v != 42 {
				t.Fatalf("sibling instance after %s: %v %v", c.export, v, err)
			}
		})
	}
}

func TestABIMismatch(t *testing.T) {
	ctx := context.Background()
	e, err := NewEngine(ctx, buildBadCore(t, "99"), &Config{CacheDir: testCache})
	if err != nil {
		t.Fatal(err)
	}
	defer e.Close(ctx)
	_, err = e.NewCore(ctx)
	if !errors.Is(err, ErrABIMismatch) || !strings.Contains(err.Error(), "99") || !strings.Contains(err.Error(), strconv.Itoa(ABIVersion)) {
		t.Fatalf("err = %v, want ErrABIMismatch naming versions 99 and %d", err, ABIVersion)
	}
}

func BenchmarkNewCore(b *testing.B) {
	e := newEngine(b, nil)
	ctx := context.Background()
	b.ReportAllocs()
	for b.Loop() {
		c, err := e.NewCore(ctx)
		if err != nil {
			b.Fatal(err)
		}
		c.Close(ctx)
	}
}

// TestParamsViewIsZeroCopy writes the parameters through the view of guest
// memory and checks the core computes with them: Update = params - global
// becomes -global once the host zeroes the view.
func TestParamsViewIsZeroCopy(t *testing.T) {
	ctx := context.Background()
	e := newEngine(t, nil)
	c, _ := e.NewCore(ctx)
	defer c.Close(ctx)
	trainWasm(t, c, mlpSpec, synthetic(32, 64, 10, 1), 1)
	view, err := c.ParamsView(ctx)
	if err != nil {
		t.Fatal(err)
	}
	before, _ := c.Params(ctx, nil)
	before2, _ := c.Update(ctx, nil)
	global := make([]float32, len(before))
	for i := range global {
		global[i] = before[i] - before2[i]
	}
	view, _ = c.ParamsView(ctx)
	clear(view)
	u, err := c.Update(ctx, nil)
	if err != nil {
		t.Fatal(err)
	}
	for i := range u {
		if u[i] != -global[i] {
			t.Fatalf("update[%d] = %v after zeroing the view, want %v", i, u[i], -global[i])
		}
	}
}

func BenchmarkHostCall(b *testing.B) {
	e := newEngine(b, &Config{Accel: kernels.Portable{}})
	c, _ := e.NewCore(context.Background())
	defer c.Close(context.Background())
	b.ResetTimer()
	if err := c.HostCalls(context.Background(), b.N); err != nil {
		b.Fatal(err)
	}
}
