package accel

import (
	"errors"
	"math"
	"math/rand/v2"
	"slices"
	"testing"

	"github.com/murmur-fl/murmur/runtime/kernels"
	"github.com/murmur-fl/murmur/runtime/kernels/kerneltest"
)

func TestConformanceGo(t *testing.T)      { kerneltest.Run(t, mustLookup(t, "go")) }
func TestConformanceNative(t *testing.T)  { kerneltest.Run(t, mustLookup(t, "native")) }
func TestConformanceNative1(t *testing.T) { kerneltest.Run(t, Native{Threads: 1}) }
func TestConformanceNative3(t *testing.T) { kerneltest.Run(t, Native{Threads: 3}) }

// The fallback must pass too: CI machines without AVX2 run it.
func TestConformanceNativeFallback(t *testing.T) {
	kerneltest.Run(t, Native{Threads: 2, generic: true})
}

func TestKernelReported(t *testing.T) {
	k := Native{}.Kernel()
	t.Logf("native micro-kernel: %s", k)
	if k == "" {
		t.Fatal("empty kernel name")
	}
	if (Native{generic: true}).Kernel() != "portable" {
		t.Fatal("fallback does not report portable")
	}
}

func mustLookup(t *testing.T, name string) kernels.Backend {
	t.Helper()
	b, ok := Lookup(name)
	if !ok {
		t.Fatalf("Lookup(%q) found nothing", name)
	}
	if b.Name() != name {
		t.Fatalf("Lookup(%q) returned %q", name, b.Name())
	}
	return b
}

func TestRegistry(t *testing.T) {
	bs := Backends()
	if len(bs) < 2 || bs[0].Name() != "go" {
		t.Fatalf("Backends() = %v, want go first and native", bs)
	}
	if _, ok := Lookup("nope"); ok {
		t.Fatal("Lookup of an unknown name succeeded")
	}
	if err := Register(kernels.Portable{}); err == nil {
		t.Fatal("registering a duplicate name succeeded")
	}
}

func TestGemmChecked(t *testing.T) {
	a := make([]float32, 6)
	c := make([]float32, 4)
	if err := Gemm(Native{}, false, false, 2, 2, 3, 1, a, 3, a, 2, 0, c, 2); err != nil {
		t.Fatalf("valid call: %v", err)
	}
	err := Gemm(Native{}, false, false, 2, 2, 3, 1, a[:5], 3, a, 2, 0, c, 2)
	if !errors.Is(err, ErrBadGemm) {
		t.Fatalf("short a: err = %v, want ErrBadGemm", err)
	}
	t.Logf("short a: %v", err)
	if err := Gemm(nil, false, false, 1, 1, 1, 1, a, 1, a, 1, 0, c, 1); err == nil {
		t.Fatal("nil backend accepted")
	}
}

func TestConformanceExact(t *testing.T)  { kerneltest.Run(t, mustLookup(t, "exact")) }
func TestConformanceExact3(t *testing.T) { kerneltest.Run(t, Exact{Threads: 3}) }

// Exact must match the portable backend bit for bit, on the shared digest
// and on MLP-shaped products, with any thread count.
func TestExactBitIdentical(t *testing.T) {
	t.Logf("exact micro-kernel: %s", Exact{}.Kernel())
	if got, want := (Exact{}).Kernel(), (kernels.Portable{}).Kernel(); got != want {
		t.Fatalf("Exact kernel %q, Portable's %q: Exact must delegate to Portable", got, want)
	}
	want := kerneltest.Digest(kernels.Portable{})
	for _, e := range []Exact{{}, {Threads: 1}, {Threads: 3}} {
		if got := kerneltest.Digest(e); got != want {
			t.Fatalf("Exact%+v digest %s, Portable %s", e, got, want)
		}
	}
	rng := rand.New(rand.NewPCG(5, 6))
	for _, s := range [][3]int{{128, 128, 784}, {784, 128, 128}, {128, 10, 128}, {1, 1000, 3}, {301, 77, 520}} {
		for _, tr := range [][2]bool{{false, true}, {true, false}, {false, false}, {true, true}} {
			c := kerneltest.NewCase(rng, tr[0], tr[1], s[0], s[1], s[2], 1, 1, 1)
			x := slices.Clone(c.C)
			kernels.Portable{}.Gemm(c.TransA, c.TransB, c.M, c.N, c.K, c.Alpha, c.A, c.LDA, c.B, c.LDB, c.Beta, x, c.LDC)
			for _, e := range []Exact{{Threads: 2}, {Threads: 5}} {
				y := slices.Clone(c.C)
				e.Gemm(c.TransA, c.TransB, c.M, c.N, c.K, c.Alpha, c.A, c.LDA, c.B, c.LDB, c.Beta, y, c.LDC)
				for i := range x {
					if math.Float32bits(x[i]) != math.Float32bits(y[i]) {
						t.Fatalf("Exact%+v %v: element %d: exact %g, portable %g", e, c, i, y[i], x[i])
					}
				}
			}
		}
	}
}

// Native's threads take row blocks dynamically, so which thread computes an
// element varies from call to call; the element's arithmetic must not. Any
// thread count must give the bits of one thread, on shapes that cross the
// block edges with several blocks per thread.
func TestNativeThreadsBitIdentical(t *testing.T) {
	rng := rand.New(rand.NewPCG(7, 8))
	// The last shape packs more than wholeBMax floats of op(B), so it takes
	// the per-k-block path (step) instead of blockedWholeB.
	for _, s := range [][3]int{{1024, 100, 300}, {37, 2000, 70}, {500, 17, 600}, {250, 1100, 260}, {30, 1030, 4100}} {
		for _, tr := range [][2]bool{{false, false}, {true, true}, {false, true}} {
			c := kerneltest.NewCase(rng, tr[0], tr[1], s[0], s[1], s[2], 2, 0.5, 1.5)
			want := slices.Clone(c.C)
			Native{Threads: 1}.Gemm(c.TransA, c.TransB, c.M, c.N, c.K, c.Alpha, c.A, c.LDA, c.B, c.LDB, c.Beta, want, c.LDC)
			if err := kerneltest.Check(Native{Threads: 1}, c); err != nil {
				t.Fatal(err)
			}
			for _, th := range []int{2, 3, 5} {
				for rep := 0; rep < 2; rep++ {
					got := slices.Clone(c.C)
					Native{Threads: th}.Gemm(c.TransA, c.TransB, c.M, c.N, c.K, c.Alpha, c.A, c.LDA, c.B, c.LDB, c.Beta, got, c.LDC)
					for i := range want {
						if math.Float32bits(got[i]) != math.Float32bits(want[i]) {
							t.Fatalf("Native{Threads: %d} %v: element %d = %g, one thread gives %g", th, c, i, got[i], want[i])
						}
					}
				}
			}
		}
	}
}
