package accel

import (
	"errors"
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
