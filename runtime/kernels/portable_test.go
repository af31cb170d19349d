package kernels_test

import (
	"testing"

	"github.com/murmur-fl/murmur/runtime/kernels"
	"github.com/murmur-fl/murmur/runtime/kernels/kerneltest"
)

func TestPortableConformance(t *testing.T) { kerneltest.Run(t, kernels.Portable{}) }

// recorder is a backend that notes it was called and delegates to Portable.
type recorder struct {
	kernels.Portable
	calls *int
}

func (r recorder) Name() string { return "recorder" }
func (r recorder) Gemm(transA, transB bool, m, n, k int, alpha float32, a []float32, lda int, b []float32, ldb int, beta float32, c []float32, ldc int) {
	*r.calls++
	r.Portable.Gemm(transA, transB, m, n, k, alpha, a, lda, b, ldb, beta, c, ldc)
}

func TestUseSwapsAndRestores(t *testing.T) {
	calls := 0
	old := kernels.Use(recorder{calls: &calls})
	defer kernels.Use(old)
	if got := kernels.Current().Name(); got != "recorder" {
		t.Fatalf("Current() = %q after Use", got)
	}
	c := make([]float32, 1)
	kernels.Gemm(false, false, 1, 1, 1, 1, []float32{2}, 1, []float32{3}, 1, 0, c, 1)
	if calls != 1 || c[0] != 6 {
		t.Fatalf("kernels.Gemm: calls=%d c=%v, want 1 call and 6", calls, c)
	}
	// Im2Col falls back to the portable code when the backend lacks ConvBackend.
	g := kernels.ConvGeom{C: 1, H: 2, W: 2, K: 1, S: 1}
	col := make([]float32, 4)
	kernels.Im2Col(g, []float32{1, 2, 3, 4}, col)
	if col[3] != 4 {
		t.Fatalf("Im2Col with a Gemm-only backend: %v", col)
	}
	if prev := kernels.Use(nil); prev.Name() != "recorder" {
		t.Fatalf("Use(nil) returned %q, want the recorder", prev.Name())
	}
	if kernels.Current().Name() != "go" {
		t.Fatalf("Use(nil) did not restore Portable: %q", kernels.Current().Name())
	}
}
