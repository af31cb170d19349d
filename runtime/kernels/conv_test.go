package kernels_test

import (
	"math"
	"math/rand/v2"
	"testing"

	"github.com/murmur-fl/murmur/runtime/kernels"
)

// naiveIm2Col and naiveCol2Im are the element-by-element definitions
// (the loops runtime/nn used before), kept as the reference.
func naiveIm2Col(g kernels.ConvGeom, img, col []float32) {
	oh, ow := g.OutH(), g.OutW()
	row := 0
	for ch := 0; ch < g.C; ch++ {
		for ki := 0; ki < g.K; ki++ {
			for kj := 0; kj < g.K; kj++ {
				for oi := 0; oi < oh; oi++ {
					for oj := 0; oj < ow; oj++ {
						ii, jj := oi*g.S+ki-g.P, oj*g.S+kj-g.P
						v := float32(0)
						if ii >= 0 && ii < g.H && jj >= 0 && jj < g.W {
							v = img[(ch*g.H+ii)*g.W+jj]
						}
						col[row*oh*ow+oi*ow+oj] = v
					}
				}
				row++
			}
		}
	}
}

func naiveCol2Im(g kernels.ConvGeom, col, img []float32) {
	clear(img)
	oh, ow := g.OutH(), g.OutW()
	row := 0
	for ch := 0; ch < g.C; ch++ {
		for ki := 0; ki < g.K; ki++ {
			for kj := 0; kj < g.K; kj++ {
				for oi := 0; oi < oh; oi++ {
					for oj := 0; oj < ow; oj++ {
						ii, jj := oi*g.S+ki-g.P, oj*g.S+kj-g.P
						if ii >= 0 && ii < g.H && jj >= 0 && jj < g.W {
							img[(ch*g.H+ii)*g.W+jj] += col[row*oh*ow+oi*ow+oj]
						}
					}
				}
				row++
			}
		}
	}
}

func TestIm2ColCol2ImMatchReference(t *testing.T) {
	rng := rand.New(rand.NewPCG(1, 1))
	for iter := 0; iter < 400; iter++ {
		g := kernels.ConvGeom{C: 1 + rng.IntN(3), H: 1 + rng.IntN(9), W: 1 + rng.IntN(9), K: 1 + rng.IntN(5), S: 1 + rng.IntN(3), P: rng.IntN(3)}
		if g.K > g.H+2*g.P || g.K > g.W+2*g.P {
			continue
		}
		n := g.C * g.H * g.W
		m := g.C * g.K * g.K * g.OutH() * g.OutW()
		img := make([]float32, n)
		for i := range img {
			img[i] = rng.Float32()*2 - 1
		}
		want, got := make([]float32, m), make([]float32, m)
		for i := range got {
			got[i] = float32(math.NaN()) // everything must be written
		}
		naiveIm2Col(g, img, want)
		kernels.Im2Col(g, img, got)
		for i := range want {
			if math.Float32bits(want[i]) != math.Float32bits(got[i]) {
				t.Fatalf("%+v: Im2Col col[%d] = %g, want %g", g, i, got[i], want[i])
			}
		}
		colv := make([]float32, m)
		for i := range colv {
			colv[i] = rng.Float32()*2 - 1
		}
		wantImg, gotImg := make([]float32, n), make([]float32, n)
		for i := range gotImg {
			gotImg[i] = 7 // must be cleared first
		}
		naiveCol2Im(g, colv, wantImg)
		kernels.Col2Im(g, colv, gotImg)
		for i := range wantImg {
			if math.Float32bits(wantImg[i]) != math.Float32bits(gotImg[i]) {
				t.Fatalf("%+v: Col2Im img[%d] = %g, want %g (must add in the reference order)", g, i, gotImg[i], wantImg[i])
			}
		}
	}
}

func TestConvGeomCheck(t *testing.T) {
	ok := kernels.ConvGeom{C: 1, H: 4, W: 4, K: 3, S: 1, P: 1}
	img, col := make([]float32, 16), make([]float32, 9*16)
	if err := ok.Check(img, col); err != nil {
		t.Fatalf("valid geometry rejected: %v", err)
	}
	bad := []kernels.ConvGeom{
		{C: 0, H: 4, W: 4, K: 3, S: 1},
		{C: 1, H: 4, W: 4, K: 3, S: 0},
		{C: 1, H: 4, W: 4, K: 3, S: 1, P: -1},
		{C: 1, H: 2, W: 4, K: 3, S: 1},
	}
	for _, g := range bad {
		if err := g.Check(img, col); err == nil {
			t.Errorf("%+v accepted", g)
		}
	}
	if err := ok.Check(img[:15], col); err == nil {
		t.Error("short image accepted")
	}
	if err := ok.Check(img, col[:100]); err == nil {
		t.Error("short column buffer accepted")
	}
}

// BenchmarkIm2Col: the CNN's first layer geometry (1x28x28, 3x3, pad 1) and
// its second (16x14x14); SetBytes counts the column matrix written.
func BenchmarkIm2Col(b *testing.B) {
	for _, g := range []kernels.ConvGeom{{C: 1, H: 28, W: 28, K: 3, S: 1, P: 1}, {C: 16, H: 14, W: 14, K: 3, S: 1, P: 1}} {
		img := make([]float32, g.C*g.H*g.W)
		col := make([]float32, g.C*g.K*g.K*g.OutH()*g.OutW())
		b.Run("fast", func(b *testing.B) {
			b.SetBytes(int64(4 * len(col)))
			b.ReportAllocs()
			for b.Loop() {
				kernels.Im2Col(g, img, col)
			}
		})
		b.Run("naive", func(b *testing.B) {
			b.SetBytes(int64(4 * len(col)))
			for b.Loop() {
				naiveIm2Col(g, img, col)
			}
		})
		b.Run("col2im", func(b *testing.B) {
			b.SetBytes(int64(4 * len(col)))
			b.ReportAllocs()
			for b.Loop() {
				kernels.Col2Im(g, col, img)
			}
		})
	}
}
