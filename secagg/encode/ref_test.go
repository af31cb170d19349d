package encode

import (
	"fmt"
	"math"
	"math/rand/v2"
	"testing"
)

// refEncode and refDecodeSum are the plain, unoptimised encoder and decoder
// (the text of the package doc, step by step). The optimised ones must give
// the same bits.
func refEncode(e *Encoder, x []float32, w uint64, rng rand.Source) []uint64 {
	y := make([]float64, e.padded)
	var ss float64
	for i, v := range x {
		f := float64(v)
		y[i] = f
		ss += float64(f * f)
	}
	scale := float64(w) / float64(e.p.MaxWeight)
	if norm := math.Sqrt(ss); norm > e.p.ClipNorm {
		scale = float64(scale * (e.p.ClipNorm / norm))
	}
	for i := range y[:e.p.Dim] {
		y[i] = float64(y[i] * scale)
	}
	if e.signs != nil {
		for i := range y {
			y[i] = float64(y[i] * e.signs[i])
		}
		refFWHT(y)
		inv := 1 / math.Sqrt(float64(e.padded))
		for i := range y {
			y[i] = float64(y[i] * inv)
		}
	}
	dst := make([]uint64, e.padded+1)
	M := float64(e.maxQ)
	for i, v := range y {
		u := v / e.step
		u = math.Max(-M, math.Min(M, u))
		fl := math.Floor(u)
		q := int64(fl)
		if r := float64(rng.Uint64()>>11) * 0x1p-53; r < u-fl {
			q++
		}
		dst[i] = uint64(q) & e.mask
	}
	dst[e.padded] = w
	return dst
}

func refDecodeSum(e *Encoder, sum []uint64) []float32 {
	z := make([]float64, e.padded)
	half := uint64(1) << uint(e.p.ModBits-1)
	for i := range z {
		v := sum[i] & e.mask
		var s int64
		if v >= half {
			s = int64(v | ^e.mask)
		} else {
			s = int64(v)
		}
		z[i] = float64(float64(s) * e.step)
	}
	if e.signs != nil {
		refFWHT(z)
		inv := 1 / math.Sqrt(float64(e.padded))
		for i := range z {
			z[i] = float64(float64(z[i]*inv) * e.signs[i])
		}
	}
	out := make([]float32, e.p.Dim)
	for i := range out {
		out[i] = float32(z[i] * float64(e.p.MaxWeight))
	}
	return out
}

func refFWHT(a []float64) {
	n := len(a)
	for h := 1; h < n; h <<= 1 {
		for i := 0; i < n; i += h << 1 {
			for j := i; j < i+h; j++ {
				u, v := a[j], a[j+h]
				a[j], a[j+h] = u+v, u-v
			}
		}
	}
}

// Version 2's rotation sends no padding, is orthonormal (a fine
// quantization round-trips), and for a power-of-two length decodes exactly
// as version 1 (the same single window and signs).
func TestRotationV2(t *testing.T) {
	r := rand.New(rand.NewPCG(6, 6))
	for _, d := range []int{1, 2, 3, 1000, 1024, 4097, 70001} {
		p := Params{Dim: d, Bits: 24, MaxClients: 1, ClipNorm: 10, Range: 8, Rotate: true, Seed: [32]byte{4}}
		e := mustNew(t, p)
		if e.Len() != d+1 {
			t.Fatalf("d=%d: version 2 rotated length %d, want %d", d, e.Len(), d+1)
		}
		x := randVec(r, d, 1/math.Sqrt(float64(d)))
		enc, err := e.Encode(nil, x, 1, rand.NewPCG(1, 1))
		if err != nil {
			t.Fatal(err)
		}
		got, _, err := e.DecodeSum(enc)
		if err != nil {
			t.Fatal(err)
		}
		var s, n float64
		for i := range x {
			s += (float64(got[i]) - float64(x[i])) * (float64(got[i]) - float64(x[i]))
			n += float64(x[i]) * float64(x[i])
		}
		// Each rotated coordinate is within Δ; the inverse is orthonormal.
		if l2, bound := math.Sqrt(s), e.Step()*math.Sqrt(float64(d))+1e-6*math.Sqrt(n); l2 > bound {
			t.Errorf("d=%d: round trip L2 error %.3g > %.3g", d, l2, bound)
		}
		if d&(d-1) == 0 {
			p.Version = 1
			e1 := mustNew(t, p)
			got1, _, err := e1.DecodeSum(enc)
			if err != nil {
				t.Fatal(err)
			}
			for i := range got {
				if got[i] != got1[i] {
					t.Fatalf("d=%d: version 1 decodes element %d to %v, version 2 to %v", d, i, got1[i], got[i])
				}
			}
		}
	}
}

// wrapped hides the concrete Source type, so the generic path is tested too.
type wrapped struct{ rand.Source }

func TestFWHTMatchesReference(t *testing.T) {
	r := rand.New(rand.NewPCG(1, 1))
	for k := 0; k <= 17; k++ {
		a := make([]float64, 1<<k)
		for i := range a {
			a[i] = r.NormFloat64() * math.Exp(4*r.NormFloat64())
		}
		b := append([]float64(nil), a...)
		fwht(a)
		refFWHT(b)
		for i := range a {
			if math.Float64bits(a[i]) != math.Float64bits(b[i]) {
				t.Fatalf("n=2^%d: element %d = %v, reference %v", k, i, a[i], b[i])
			}
		}
	}
}

func TestEncodeMatchesReference(t *testing.T) {
	r := rand.New(rand.NewPCG(8, 8))
	for _, d := range []int{1, 255, 257, 5000, 70001} {
		for _, rot := range []bool{false, true} {
			e := mustNew(t, Params{Dim: d, Bits: 8, MaxClients: 1000, ClipNorm: 1, Range: 0.3 / math.Sqrt(float64(d)),
				MaxWeight: 7, Rotate: rot, Seed: [32]byte{3}, Version: 1})
			x := randVec(r, d, 2/math.Sqrt(float64(d))) // clipped, some clamped
			x[0] = 0
			x[d-1] = float32(math.Copysign(0, -1))
			sources := []func() rand.Source{
				func() rand.Source { return rand.NewPCG(1, 2) },
				func() rand.Source { return rand.NewChaCha8([32]byte{9}) },
				func() rand.Source { return wrapped{rand.NewPCG(3, 4)} },
			}
			for si, src := range sources {
				got, err := e.Encode(nil, x, 5, src())
				if err != nil {
					t.Fatal(err)
				}
				want := refEncode(e, x, 5, src())
				for i := range want {
					if got[i] != want[i] {
						t.Fatalf("d=%d rot=%v source %d: element %d = %d, reference %d", d, rot, si, i, got[i], want[i])
					}
				}
				dec, _, err := e.DecodeSum(got)
				if err != nil {
					t.Fatal(err)
				}
				ref := refDecodeSum(e, got)
				for i := range ref {
					if math.Float32bits(dec[i]) != math.Float32bits(ref[i]) {
						t.Fatalf("d=%d rot=%v: decoded %d = %v, reference %v", d, rot, i, dec[i], ref[i])
					}
				}
			}
		}
	}
}

func BenchmarkEncode(b *testing.B) {
	const d = 460496
	x := randVec(rand.New(rand.NewPCG(1, 1)), d, 1e-3)
	for _, rot := range []bool{false, true} {
		e := mustNew(b, Params{Dim: d, Bits: 8, MaxClients: 1000, ClipNorm: 1, Range: 0.01, Rotate: rot, Seed: [32]byte{1}})
		name := "plain"
		if rot {
			name = "rotate"
		}
		for _, src := range []rand.Source{rand.NewPCG(1, 2), rand.NewChaCha8([32]byte{1})} {
			b.Run(fmt.Sprintf("%s/encode/%T", name, src), func(b *testing.B) {
				b.SetBytes(4 * d)
				b.ReportAllocs()
				dst, _ := e.Encode(nil, x, 1, src)
				t0 := cpuTime()
				for b.Loop() {
					dst, _ = e.Encode(dst, x, 1, src)
				}
				reportCPU(b, 4*d, t0)
			})
		}
		enc, _ := e.Encode(nil, x, 1, rand.NewPCG(1, 2))
		b.Run(name+"/decode", func(b *testing.B) {
			b.SetBytes(4 * d)
			b.ReportAllocs()
			t0 := cpuTime()
			for b.Loop() {
				_, _, _ = e.DecodeSum(enc)
			}
			reportCPU(b, 4*d, t0)
		})
	}
}
