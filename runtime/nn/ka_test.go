package nn

import (
	"testing"

	"github.com/murmur-fl/murmur/runtime/kernels"
)

// refGemm is a naive GEMM with a fixed summation order, so the known
// answers below do not depend on how the portable backend is blocked.
type refGemm struct{}

func (refGemm) Name() string { return "ref" }
func (refGemm) Gemm(ta, tb bool, m, n, k int, alpha float32, a []float32, lda int, b []float32, ldb int, beta float32, c []float32, ldc int) {
	for i := 0; i < m; i++ {
		for j := 0; j < n; j++ {
			var s float32
			for p := 0; p < k; p++ {
				var av, bv float32
				if ta {
					av = a[p*lda+i]
				} else {
					av = a[i*lda+p]
				}
				if tb {
					bv = b[j*ldb+p]
				} else {
					bv = b[p*ldb+j]
				}
				s += float32(av * bv)
			}
			if beta == 0 {
				c[i*ldc+j] = alpha * s
			} else {
				c[i*ldc+j] = float32(alpha*s) + float32(beta*c[i*ldc+j])
			}
		}
	}
}

// TestTrainingKnownAnswer pins the parameters after six Adam steps (with
// dropout and a short batch) for a CNN, a GRU and an MLP. It passes on
// amd64 (GOAMD64=v1 and v3), arm64 (checked under qemu-aarch64-static) and
// GOOS=js GOARCH=wasm (PATH=$PATH:$(go env GOROOT)/lib/wasm): training is
// bit-identical everywhere given the same GEMM.
func TestTrainingKnownAnswer(t *testing.T) {
	defer kernels.Use(kernels.Use(refGemm{}))
	L := func(typ string) LayerSpec { return LayerSpec{Type: typ} }
	cases := []struct {
		spec Spec
		want string
	}{
		{Spec{Input: []int{12}, Loss: "softmax_xent", Layers: []LayerSpec{
			{Type: "dense", Units: 8}, L("relu"), {Type: "dense", Units: 3}}}, "ed7fdf9d9cede582"},
		{Spec{Input: []int{1, 6, 6}, Loss: "softmax_xent", Layers: []LayerSpec{
			{Type: "conv2d", Filters: 3, Kernel: 3, Pad: 1}, L("relu"), {Type: "maxpool2d", Kernel: 2},
			L("flatten"), {Type: "dropout", Rate: 0.5}, {Type: "dense", Units: 4}}}, "26c35327abfe9c5f"},
		{Spec{Input: []int{5}, Loss: "seq_xent", Layers: []LayerSpec{
			{Type: "embedding", Vocab: 9, Dim: 4}, {Type: "gru", Hidden: 6}, L("sigmoid"), L("tanh"), {Type: "dense", Units: 9}}}, "c573afcc5a438cee"},
	}
	for i, c := range cases {
		got := trainHash(t, c.spec, 1, 6)
		t.Logf("case %d: %s", i, got)
		if got != c.want {
			t.Errorf("case %d: parameters hash %s, want %s", i, got, c.want)
		}
	}
}
