package wasmcore

import (
	"context"
	"encoding/binary"
	"math"
	"math/rand/v2"
	"slices"
	"sync"
	"testing"
	"time"

	hostaccel "github.com/murmur-fl/murmur/host/accel"
	"github.com/murmur-fl/murmur/host/agent"
	"github.com/murmur-fl/murmur/runtime/kernels"
	"github.com/murmur-fl/murmur/runtime/kernels/kerneltest"
)

// countingOps is the portable backend, counting the ops the host ran.
type countingOps struct {
	kernels.Portable
	mu    *sync.Mutex
	calls map[kernels.Op]int
}

func (countingOps) Name() string { return "counting" }

func (c countingOps) RunOp(op kernels.Op, a *kernels.Args) bool {
	c.mu.Lock()
	c.calls[op]++
	c.mu.Unlock()
	return kernels.RunOn(kernels.Portable{}, op, a) == nil
}

// TestEveryOpIsOffloaded: training and evaluating the test models with an
// accelerator sends every kernel op through murmur_accel.run.
func TestEveryOpIsOffloaded(t *testing.T) {
	ctx := context.Background()
	b := countingOps{mu: new(sync.Mutex), calls: map[kernels.Op]int{}}
	e := newEngine(t, &Config{Accel: b})
	run := func(spec, opt string, d agent.Dataset) {
		c, err := e.NewCore(ctx)
		if err != nil {
			t.Fatal(err)
		}
		defer c.Close(ctx)
		if err := c.UseAccel(ctx, true); err != nil {
			t.Fatal(err)
		}
		trainWasmOpt(t, c, spec, opt, d, 3)
		if _, err := c.Evaluate(ctx, 0, 8); err != nil {
			t.Fatal(err)
		}
	}
	run(cnnSpec, `{"name":"sgd","lr":0.05,"momentum":0.9,"prox_mu":0.1}`, synthetic(20, 2*9*9, 10, 2))
	run(gruSpec, `{"name":"adam","lr":0.01,"clip_norm":0.5}`, tokens(20, 6, 30, 30, true, 3))
	run(gruLastSpec, `{"name":"sgd","lr":0.1}`, tokens(20, 6, 30, 5, false, 4))
	run(dropoutSpec, adamOpt, synthetic(20, 64, 10, 7))
	for _, op := range kernels.Ops() {
		if b.calls[op] == 0 {
			t.Errorf("op %s never reached the host", op)
		}
	}
}

// fakeMemory is guest memory for the decoder tests.
type fakeMemory []byte

func (m fakeMemory) Read(off, n uint32) ([]byte, bool) {
	if uint64(off)+uint64(n) > uint64(len(m)) {
		return nil, false
	}
	return m[off : off+n : off+n], true
}

// putDesc writes a descriptor at off: float arrays f and int arrays i as
// (pointer, length) pairs, and sizes n.
func putDesc(m fakeMemory, off uint32, f, i [][2]uint32, n []int32) {
	le := binary.LittleEndian
	for k, p := range f {
		le.PutUint32(m[off+uint32(8*k):], p[0])
		le.PutUint32(m[off+uint32(8*k)+4:], p[1])
	}
	for k, p := range i {
		le.PutUint32(m[off+offI+uint32(8*k):], p[0])
		le.PutUint32(m[off+offI+uint32(8*k)+4:], p[1])
	}
	for k, v := range n {
		le.PutUint32(m[off+offN+uint32(4*k):], uint32(v))
	}
}

// TestOpImport runs an op through the import's decoder on a fake memory,
// and checks that every kind of bad descriptor is refused with code 2,
// without a panic, and that a host without a backend declines with 1.
func TestOpImport(t *testing.T) {
	mem := make(fakeMemory, 4096)
	le := binary.LittleEndian
	// y [2, 3] at 1024, b [3] at 2048: bias_fill writes b into both rows.
	for k, v := range []float32{1, 2, 3} {
		le.PutUint32(mem[2048+4*k:], math.Float32bits(v))
	}
	putDesc(mem, 0, [][2]uint32{{1024, 6}, {2048, 3}}, nil, []int32{2, 1})
	if code := runOpEntry(kernels.Portable{}, mem, kernels.OpBiasFill, 0); code != 0 {
		t.Fatalf("bias_fill: code %d, want 0", code)
	}
	for k, want := range []float32{1, 2, 3, 1, 2, 3} {
		if got := math.Float32frombits(le.Uint32(mem[1024+4*k:])); got != want {
			t.Fatalf("y[%d] = %v, want %v", k, got, want)
		}
	}
	// xent_eval writes its results into the descriptor.
	for k, v := range []float32{0, 5, 1} {
		le.PutUint32(mem[1024+4*k:], math.Float32bits(v))
	}
	le.PutUint32(mem[3072:], 1) // label 1
	putDesc(mem, 256, [][2]uint32{{1024, 3}}, [][2]uint32{{3072, 1}}, []int32{3})
	if code := runOpEntry(kernels.Portable{}, mem, kernels.OpXentEval, 256); code != 0 {
		t.Fatalf("xent_eval: code %d", code)
	}
	if count, top1 := math.Float64frombits(le.Uint64(mem[256+offR+8:])), math.Float64frombits(le.Uint64(mem[256+offR+16:])); count != 1 || top1 != 1 {
		t.Fatalf("xent_eval results: count %v top1 %v, want 1 and 1", count, top1)
	}

	if code := runOpEntry(nil, mem, kernels.OpBiasFill, 0); code != 1 {
		t.Fatalf("no backend: code %d, want 1", code)
	}
	bad := []struct {
		name string
		op   kernels.Op
		ptr  uint32
		f, i [][2]uint32
		n    []int32
	}{
		{"unknown op", 99, 512, nil, nil, nil},
		{"op zero", 0, 512, nil, nil, nil},
		{"descriptor outside memory", kernels.OpBiasFill, 4000, nil, nil, nil},
		{"misaligned descriptor", kernels.OpBiasFill, 516, nil, nil, nil},
		{"array outside memory", kernels.OpBiasFill, 512, [][2]uint32{{4000, 100}, {2048, 3}}, nil, []int32{2, 1}},
		{"array length overflows", kernels.OpBiasFill, 512, [][2]uint32{{1024, 1 << 31}, {2048, 3}}, nil, []int32{2, 1}},
		{"misaligned array", kernels.OpBiasFill, 512, [][2]uint32{{1026, 6}, {2048, 3}}, nil, []int32{2, 1}},
		{"output too short", kernels.OpBiasFill, 512, [][2]uint32{{1024, 5}, {2048, 3}}, nil, []int32{2, 1}},
		{"negative size", kernels.OpBiasFill, 512, [][2]uint32{{1024, 6}, {2048, 3}}, nil, []int32{-2, 1}},
		{"token outside the table", kernels.OpEmbedGather, 512, [][2]uint32{{1024, 6}, {2048, 3}}, [][2]uint32{{3072, 1}}, []int32{3}},
		{"argmax outside dx", kernels.OpMaxPoolGrad, 512, [][2]uint32{{1024, 1}, {2048, 1}}, [][2]uint32{{3072, 1}}, nil},
	}
	le.PutUint32(mem[3072:], 7)
	for _, tc := range bad {
		clear(mem[512 : 512+opDescSize])
		putDesc(mem, 512, tc.f, tc.i, tc.n)
		if code := runOpEntry(kernels.Portable{}, mem, tc.op, tc.ptr); code != 2 {
			t.Errorf("%s: code %d, want 2", tc.name, code)
		}
	}
}

// TestOpConformanceThroughDecoder runs every conformance case through the
// descriptor encoding the guest uses: the decoded operands must give the
// portable results bit for bit.
func TestOpConformanceThroughDecoder(t *testing.T) {
	kerneltest.RunOps(t, viaDescriptor{})
}

// viaDescriptor copies an op's operands into a fake guest memory, runs the
// import on it and copies the outputs back.
type viaDescriptor struct{}

func (viaDescriptor) RunOp(op kernels.Op, a *kernels.Args) bool {
	mem := make(fakeMemory, 1<<20)
	next := uint32(4096)
	var f, i [][2]uint32
	le := binary.LittleEndian
	for _, s := range a.F {
		f = append(f, [2]uint32{next, uint32(len(s))})
		for k, v := range s {
			le.PutUint32(mem[next+uint32(4*k):], math.Float32bits(v))
		}
		next += uint32(4*len(s)+63) &^ 63
	}
	for _, s := range a.I {
		i = append(i, [2]uint32{next, uint32(len(s))})
		for k, v := range s {
			le.PutUint32(mem[next+uint32(4*k):], uint32(v))
		}
		next += uint32(4*len(s)+63) &^ 63
	}
	n := make([]int32, len(a.N))
	for k, v := range a.N {
		n[k] = int32(v)
	}
	putDesc(mem, 0, f, i, n)
	for k, v := range a.S {
		le.PutUint32(mem[offS+4*k:], math.Float32bits(v))
	}
	if runOpEntry(kernels.Portable{}, mem, op, 0) != 0 {
		return false
	}
	for k, s := range a.F {
		for j := range s {
			s[j] = math.Float32frombits(le.Uint32(mem[f[k][0]+uint32(4*j):]))
		}
	}
	for k, s := range a.I {
		for j := range s {
			s[j] = int32(le.Uint32(mem[i[k][0]+uint32(4*j):]))
		}
	}
	for k := range a.R {
		a.R[k] = math.Float64frombits(le.Uint64(mem[offR+8*k:]))
	}
	return true
}

// FuzzOpDescriptor: any descriptor bytes and op code give a code, never a
// panic, and code 0 only for known ops.
func FuzzOpDescriptor(f *testing.F) {
	seed := make([]byte, opDescSize)
	f.Add(uint32(kernels.OpBiasFill), seed)
	rng := rand.New(rand.NewPCG(1, 1))
	for _, c := range kerneltest.OpCases(rng)[:8] {
		b := slices.Clone(seed)
		for k, s := range c.Args.F {
			binary.LittleEndian.PutUint32(b[8*k:], uint32(opDescSize+64*k))
			binary.LittleEndian.PutUint32(b[8*k+4:], uint32(len(s)))
		}
		f.Add(uint32(c.Op), b)
	}
	f.Fuzz(func(t *testing.T, op uint32, desc []byte) {
		mem := make(fakeMemory, 8192)
		copy(mem, desc)
		code := runOpEntry(kernels.Portable{}, mem, kernels.Op(op), 0)
		if code != 0 && code != 2 {
			t.Fatalf("code %d", code)
		}
		if code == 0 && (op == 0 || int(op) > len(kernels.Ops())) {
			t.Fatalf("unknown op %d accepted", op)
		}
	})
}

// TestHostCallFloor: the minimal module really makes the calls (the loop
// checks its count) and each takes some time.
func TestHostCallFloor(t *testing.T) {
	e := newEngine(t, nil)
	d, err := e.HostCallFloor(context.Background(), 10_000)
	if err != nil {
		t.Fatal(err)
	}
	if d <= 0 || d > time.Millisecond {
		t.Fatalf("host call floor %v, want between 0 and 1ms", d)
	}
}

// TestConformanceThroughBoundary runs kerneltest's GEMM cases and every op
// case inside a wasm guest (testdata/conformcore) whose kernels go through
// the murmur_accel imports to each host backend: GEMM within the suite's
// tolerance, ops bit-identical to the guest's portable kernels.
func TestConformanceThroughBoundary(t *testing.T) {
	wasm := buildTestCore(t, "conformcore")
	ctx := context.Background()
	counting := countingOps{mu: new(sync.Mutex), calls: map[kernels.Op]int{}}
	backends := []kernels.Backend{kernels.Portable{}, counting}
	for _, name := range []string{"exact", "native"} {
		if b, ok := hostaccel.Lookup(name); ok {
			backends = append(backends, b)
		}
	}
	run := func(t *testing.T, b kernels.Backend) int32 {
		e, err := NewEngine(ctx, wasm, &Config{Accel: b, CacheDir: testCache})
		if err != nil {
			t.Fatal(err)
		}
		defer e.Close(ctx)
		c, err := e.NewCore(ctx)
		if err != nil {
			t.Fatal(err)
		}
		defer c.Close(ctx)
		fails, err := c.call(ctx, "conformance", 42)
		if err != nil {
			t.Fatal(err)
		}
		if fails != 0 {
			t.Logf("first failure: %v", c.lastError(ctx, "conformance", 4))
		}
		return int32(fails)
	}
	// The harness must notice a host that gets GEMM wrong.
	if n := run(t, offByOne{}); n == 0 {
		t.Fatal("a host whose GEMM is off by one passed the conformance run")
	}
	for _, b := range backends {
		t.Run(b.Name(), func(t *testing.T) {
			if n := run(t, b); n != 0 {
				t.Fatalf("%d cases failed through the boundary", n)
			}
		})
	}
	for _, op := range kernels.Ops() {
		if counting.calls[op] == 0 {
			t.Errorf("op %s never reached the host", op)
		}
	}
}

// offByOne is the portable backend with a GEMM that adds 1 to C[0].
type offByOne struct{ kernels.Portable }

func (offByOne) Name() string { return "off-by-one" }
func (offByOne) Gemm(transA, transB bool, m, n, k int, alpha float32, a []float32, lda int, b []float32, ldb int, beta float32, c []float32, ldc int) {
	kernels.Portable{}.Gemm(transA, transB, m, n, k, alpha, a, lda, b, ldb, beta, c, ldc)
	c[0]++
}

// TestBatchImport runs a GEMM and two ops as one batch, and checks that a
// bad entry stops the batch at its index after running the ones before.
func TestBatchImport(t *testing.T) {
	mem := make(fakeMemory, 8192)
	le := binary.LittleEndian
	f32 := func(off uint32, v ...float32) {
		for k, x := range v {
			le.PutUint32(mem[off+4*uint32(k):], math.Float32bits(x))
		}
	}
	get := func(off uint32, n int) []float32 {
		out := make([]float32, n)
		for k := range out {
			out[k] = math.Float32frombits(le.Uint32(mem[off+4*uint32(k):]))
		}
		return out
	}
	entry := func(i uint32, kind, op uint32) uint32 {
		e := i * batchEntrySize
		le.PutUint32(mem[e:], kind)
		le.PutUint32(mem[e+4:], op)
		return e + 8
	}
	// Entry 0: C [2x2] at 6144 = A [2x3] at 4096 times B [3x2] at 5120.
	f32(4096, 1, 2, 3, 4, 5, 6)
	f32(5120, 1, 0, 0, 1, 1, 1)
	d := entry(0, 1, 0)
	putDesc(mem, d, [][2]uint32{{4096, 6}, {5120, 6}, {6144, 4}}, nil, []int32{0, 2, 2, 3, 3, 2, 2})
	le.PutUint32(mem[d+offS:], math.Float32bits(1))
	// Entry 1: bias_fill of y [2x2] at 7168 from b at 7680; entry 2:
	// xent_eval of C's rows against labels at 7936, writing results.
	f32(7680, 10, 20)
	putDesc(mem, entry(1, 0, uint32(kernels.OpBiasFill)), [][2]uint32{{7168, 4}, {7680, 2}}, nil, []int32{2, 1})
	le.PutUint32(mem[7936:], 1)
	le.PutUint32(mem[7940:], 1)
	d2 := entry(2, 0, uint32(kernels.OpXentEval))
	putDesc(mem, d2, [][2]uint32{{6144, 4}}, [][2]uint32{{7936, 2}}, []int32{2})
	if code := batchImport(kernels.Portable{}, mem, 0, 3); code != 0 {
		t.Fatalf("batch: code %d, want 0", code)
	}
	if got, want := get(6144, 4), []float32{4, 5, 10, 11}; !slices.Equal(got, want) {
		t.Errorf("GEMM entry: C = %v, want %v", got, want)
	}
	if got, want := get(7168, 4), []float32{10, 20, 10, 20}; !slices.Equal(got, want) {
		t.Errorf("bias_fill entry: y = %v, want %v", got, want)
	}
	if count, top1 := math.Float64frombits(le.Uint64(mem[d2+offR+8:])), math.Float64frombits(le.Uint64(mem[d2+offR+16:])); count != 2 || top1 != 2 {
		t.Errorf("xent_eval entry: count %v top1 %v, want 2 and 2", count, top1)
	}

	if code := batchImport(nil, mem, 0, 3); code != 1 {
		t.Errorf("no backend: code %d, want 1", code)
	}
	if code := batchImport(kernels.Portable{}, mem, 0, 0); code != 0 {
		t.Errorf("empty batch: code %d, want 0", code)
	}
	// A bad second entry: the first runs, the batch stops with 2 + 1.
	f32(7168, 0, 0, 0, 0)
	putDesc(mem, entry(0, 0, uint32(kernels.OpBiasFill)), [][2]uint32{{7168, 4}, {7680, 2}}, nil, []int32{2, 1})
	for name, bad := range map[string]func(){
		"unknown kind": func() { entry(1, 7, 0) },
		"unknown op":   func() { entry(1, 0, 99) },
		"GEMM outside": func() {
			putDesc(mem, entry(1, 1, 0), [][2]uint32{{8180, 6}, {5120, 6}, {6144, 4}}, nil, []int32{0, 2, 2, 3, 3, 2, 2})
		},
		"negative GEMM dim": func() { putDesc(mem, entry(1, 1, 0), nil, nil, []int32{0, -2, 2, 3, 3, 2, 2}) },
	} {
		clear(mem[batchEntrySize : 2*batchEntrySize])
		bad()
		f32(7168, 0, 0, 0, 0)
		if code := batchImport(kernels.Portable{}, mem, 0, 2); code != 3 {
			t.Errorf("%s: code %d, want 3 (entry 1 rejected)", name, code)
		}
		if got := get(7168, 4); got[0] != 10 {
			t.Errorf("%s: entry 0 did not run before the bad entry: y = %v", name, got)
		}
	}
	if code := batchImport(kernels.Portable{}, mem, 0, maxBatch+1); code != 2 {
		t.Errorf("oversized batch: code %d, want 2", code)
	}
	if code := batchImport(kernels.Portable{}, mem, 8100, 1); code != 2 {
		t.Errorf("entry outside memory: code %d, want 2", code)
	}
}

// FuzzBatch: any batch list gives a status, never a panic or a hang.
func FuzzBatch(f *testing.F) {
	seed := make([]byte, 2*batchEntrySize)
	f.Add(uint32(2), seed)
	binary.LittleEndian.PutUint32(seed[0:], 1)
	f.Add(uint32(1), slices.Clone(seed))
	binary.LittleEndian.PutUint32(seed[0:], 0)
	binary.LittleEndian.PutUint32(seed[4:], uint32(kernels.OpBiasFill))
	f.Add(uint32(1), slices.Clone(seed))
	f.Fuzz(func(t *testing.T, count uint32, list []byte) {
		mem := make(fakeMemory, 8192)
		copy(mem, list)
		code := batchImport(kernels.Portable{}, mem, 0, count%64)
		if code == 1 || code > 2+count%64 {
			t.Fatalf("count %d: code %d", count%64, code)
		}
	})
}
