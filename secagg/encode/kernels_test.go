package encode

import (
	"math"
	"math/rand/v2"
	"testing"
)

// The kernels (kernels_amd64.s when useAVX2, else the Go twins themselves)
// must give exactly the bits of the Go loops, element by element, for every
// length (the kernels take multiples of 4 or 8, the Go loop the rest) and
// for edge values: zeros of both signs, subnormals, values beyond the
// clamp, huge values, and non-finite ones where the Go loop accepts them.

func kernelLengths() []int {
	ls := make([]int, 0, 80)
	for n := 0; n <= 67; n++ {
		ls = append(ls, n)
	}
	return append(ls, 255, 256, 257, 1000, 4099)
}

// edgeF32 fills x with a mix of ordinary and edge values.
func edgeF32(r *rand.Rand, x []float32, scale float64) {
	edges := []float32{0, float32(math.Copysign(0, -1)), 1e-45, -1e-45, 1e-38, math.MaxFloat32, -math.MaxFloat32,
		float32(scale), float32(-scale), float32(2 * scale), float32(-3 * scale), 1, -1}
	for i := range x {
		if r.IntN(6) == 0 {
			x[i] = edges[r.IntN(len(edges))]
		} else {
			x[i] = float32(r.NormFloat64() * scale)
		}
	}
}

func TestKernelSumSquares(t *testing.T) {
	r := rand.New(rand.NewPCG(1, 2))
	for _, n := range kernelLengths() {
		for trial := range 4 {
			x := make([]float32, n)
			edgeF32(r, x, 1e-3)
			if trial == 0 {
				for i := range x { // no overflowing squares: a finite sum
					x[i] = float32(r.NormFloat64())
				}
			}
			if trial == 3 && n > 0 {
				bad := []float32{float32(math.NaN()), float32(math.Inf(1)), float32(math.Inf(-1))}
				x[r.IntN(n)] = bad[r.IntN(3)]
				if n > 1 {
					x[r.IntN(n)] = bad[r.IntN(3)]
				}
			}
			gs, gi := sumSquares4(x)
			ws, wi := sumSquaresGo(x, 2)
			if gi != wi || math.Float64bits(gs) != math.Float64bits(ws) {
				t.Fatalf("n=%d trial %d: kernel (%v, %d), Go (%v, %d)", n, trial, gs, gi, ws, wi)
			}
		}
	}
}

func TestKernelQuantizeCounter(t *testing.T) {
	r := rand.New(rand.NewPCG(3, 4))
	for _, bits := range []int{2, 3, 8, 16, 24, 31, 32} {
		for _, modBits := range []int{bits, bits + 10, 64} {
			if modBits > 64 {
				continue
			}
			M := float64(int64(1)<<uint(bits-1) - 1)
			R := 0.01
			step := R / M
			mask := modMask(modBits)
			q := quantizer{step: step, m: M, inv: 1 / step, mask: mask}
			for _, n := range kernelLengths() {
				key := r.Uint64()
				mul := 0.5 + r.Float64()
				x := make([]float32, n)
				edgeF32(r, x, R)
				for i := range x { // the encoder's input is finite
					if math.IsInf(float64(x[i]), 0) || math.IsNaN(float64(x[i])) {
						x[i] = 0
					}
				}
				y := make([]float64, n)
				for i := range y {
					y[i] = float64(x[i]) * 1.0001
				}
				got, want := make([]uint64, n), make([]uint64, n)
				quantizeCounter(got, x, mul, key, q)
				quantizeCounterGo(want, x, mul, key, q)
				for i := range got {
					if got[i] != want[i] {
						t.Fatalf("float32 bits=%d B=%d n=%d: element %d (x=%v): kernel %#x, Go %#x", bits, modBits, n, i, x[i], got[i], want[i])
					}
				}
				quantizeCounter(got, y, 1, key, q)
				quantizeCounterGo(want, y, 1, key, q)
				for i := range got {
					if got[i] != want[i] {
						t.Fatalf("float64 bits=%d B=%d n=%d: element %d (y=%v): kernel %#x, Go %#x", bits, modBits, n, i, y[i], got[i], want[i])
					}
				}
			}
		}
	}
}

// TestKernelQuantizeRounding pins the rounding comparison at the edges:
// fractions just above and below the uniform, uniforms 0 and 2^32−1.
func TestKernelQuantizeRounding(t *testing.T) {
	q := quantizer{step: 1, m: 127, inv: 1, mask: modMask(18)}
	const n = 4096
	x := make([]float64, n)
	r := rand.New(rand.NewPCG(5, 6))
	for i := range x {
		// t − floor(t) = k/2^k' style fractions that equal some r·2^-32.
		x[i] = float64(r.IntN(300)-150) + float64(r.Uint32())*0x1p-32
	}
	for _, key := range []uint64{0, 1, ^uint64(0), 0x123456789abcdef} {
		got, want := make([]uint64, n), make([]uint64, n)
		quantizeCounter(got, x, 1, key, q)
		quantizeCounterGo(want, x, 1, key, q)
		for i := range got {
			if got[i] != want[i] {
				t.Fatalf("key %#x element %d (%v): kernel %#x, Go %#x", key, i, x[i], got[i], want[i])
			}
		}
	}
}

func TestKernelDecode(t *testing.T) {
	r := rand.New(rand.NewPCG(7, 8))
	for _, bits := range []int{1, 2, 8, 18, 31, 32, 33, 51, 52, 53, 63, 64} {
		mask := modMask(bits)
		for _, n := range kernelLengths() {
			sum := make([]uint64, n)
			for i := range sum {
				switch r.IntN(5) {
				case 0: // edges of the signed range, and garbage above B
					e := []uint64{0, 1, mask, mask >> 1, mask>>1 + 1, ^uint64(0)}
					sum[i] = e[r.IntN(len(e))]
				case 1:
					sum[i] = r.Uint64() // bits above B must be ignored
				default:
					sum[i] = r.Uint64() & mask
				}
			}
			step := 1e-4 * (1 + r.Float64())
			w := float64(1 + r.IntN(100))
			got, want := make([]float32, n), make([]float32, n)
			decodeValues(got, sum, bits, step, w)
			decodeValuesGo(want, sum, bits, step, w)
			for i := range got {
				if math.Float32bits(got[i]) != math.Float32bits(want[i]) {
					t.Fatalf("bits=%d n=%d element %d (%#x): kernel %v, Go %v", bits, n, i, sum[i], got[i], want[i])
				}
			}
			gz, wz := make([]float64, n), make([]float64, n)
			decodeSteps(gz, sum, bits, step)
			decodeStepsGo(wz, sum, bits, step)
			for i := range gz {
				if math.Float64bits(gz[i]) != math.Float64bits(wz[i]) {
					t.Fatalf("bits=%d n=%d element %d (%#x): kernel %v, Go %v", bits, n, i, sum[i], gz[i], wz[i])
				}
			}
		}
	}
}

// fwhtGo is fwht with the Go loops only.
func fwhtGo(a []float64) {
	n := len(a)
	b := min(n, fwhtBlock)
	for o := 0; o < n; o += b {
		fwhtLevelsGo(a[o:o+b], 1)
	}
	fwhtLevelsGo(a, b)
}

func TestKernelFWHT(t *testing.T) {
	r := rand.New(rand.NewPCG(9, 10))
	for lg := 0; lg <= 17; lg++ {
		n := 1 << lg
		a := make([]float64, n)
		for i := range a {
			a[i] = r.NormFloat64() * math.Pow(10, float64(r.IntN(40)-20))
			if r.IntN(50) == 0 {
				a[i] = []float64{0, math.Copysign(0, -1), math.Inf(1), math.Inf(-1), math.NaN(), 5e-324}[r.IntN(6)]
			}
		}
		b := append([]float64(nil), a...)
		fwht(a)
		fwhtGo(b)
		for i := range a {
			if math.Float64bits(a[i]) != math.Float64bits(b[i]) && !(math.IsNaN(a[i]) && math.IsNaN(b[i])) {
				t.Fatalf("n=%d element %d: kernel %v, Go %v", n, i, a[i], b[i])
			}
		}
	}
}

// TestKernelRotate compares version 2's rotated Encode and DecodeSum with
// the kernels (signBits set) against the Go path of the same Encoder.
func TestKernelRotate(t *testing.T) {
	r := rand.New(rand.NewPCG(11, 12))
	for _, d := range []int{1, 7, 63, 64, 65, 100, 127, 128, 129, 1000, 4096, 4097, 5000, 8191, 8192, 8193, 70001} {
		for _, bits := range []int{8, 16} {
			e := mustNew(t, Params{Dim: d, Bits: bits, MaxClients: 100, ClipNorm: 1, Range: 0.05, Rotate: true, MaxWeight: 7, Seed: [32]byte{byte(d), 3}})
			g := *e
			g.signBits = nil // the Go path
			x := make([]float32, d)
			edgeF32(r, x, 1e-2)
			for i := range x {
				if v := float64(x[i]); math.IsInf(v, 0) || math.IsNaN(v) || math.Abs(v) > 1 {
					x[i] = 0.5
				}
			}
			got, err := e.Encode(nil, x, 5, rand.NewPCG(1, uint64(d)))
			if err != nil {
				t.Fatal(err)
			}
			want, _ := g.Encode(nil, x, 5, rand.NewPCG(1, uint64(d)))
			for i := range want {
				if got[i] != want[i] {
					t.Fatalf("d=%d bits=%d: element %d: kernel %#x, Go %#x", d, bits, i, got[i], want[i])
				}
			}
			// A sum of several encodings, as the server decodes.
			for k := range 3 {
				v, _ := g.Encode(nil, x, uint64(k), rand.NewPCG(2, uint64(k)))
				AddMod(want, v, e.p.ModBits)
			}
			a, aw, _ := e.DecodeSum(want)
			b, bw, _ := g.DecodeSum(want)
			if aw != bw {
				t.Fatalf("d=%d: weight %d vs %d", d, aw, bw)
			}
			for i := range a {
				if math.Float32bits(a[i]) != math.Float32bits(b[i]) {
					t.Fatalf("d=%d bits=%d: decoded element %d: kernel %v, Go %v", d, bits, i, a[i], b[i])
				}
			}
		}
	}
}

func TestKernelConvert(t *testing.T) {
	r := rand.New(rand.NewPCG(13, 14))
	for _, n := range kernelLengths() {
		x := make([]float32, n)
		edgeF32(r, x, 1e-3)
		if n > 2 {
			x[1], x[2] = float32(math.NaN()), float32(math.Inf(-1))
		}
		c := r.NormFloat64()
		y, w := make([]float64, n), make([]float64, n)
		cvtScale(y, x, c)
		for i, v := range x {
			w[i] = float64(float64(v) * c)
		}
		for i := range y {
			if math.Float64bits(y[i]) != math.Float64bits(w[i]) && !(math.IsNaN(y[i]) && math.IsNaN(w[i])) {
				t.Fatalf("cvtScale n=%d element %d: kernel %v, Go %v", n, i, y[i], w[i])
			}
		}
		// Values that round differently to float32, overflow and underflow.
		for i := range y {
			y[i] = r.NormFloat64() * math.Pow(2, float64(r.IntN(300)-150))
		}
		got, want := make([]float32, n), make([]float32, n)
		toF32(got, y, 3)
		for i := range want {
			want[i] = float32(y[i] * 3)
		}
		for i := range got {
			if math.Float32bits(got[i]) != math.Float32bits(want[i]) {
				t.Fatalf("toF32 n=%d element %d (%v): kernel %v, Go %v", n, i, y[i], got[i], want[i])
			}
		}
	}
}

func TestKernelPack(t *testing.T) {
	r := rand.New(rand.NewPCG(15, 16))
	for bits := 1; bits <= 64; bits++ {
		for _, n := range append(kernelLengths(), 8*33+5) {
			v := make([]uint64, n)
			for i := range v {
				v[i] = r.Uint64() // bits above B must be ignored
				if r.IntN(4) == 0 {
					v[i] = []uint64{0, modMask(bits), ^uint64(0), 1 << uint(bits-1)}[r.IntN(4)]
				}
			}
			prefix := []byte{0xa5, 0x5a}
			got := Pack(append([]byte(nil), prefix...), v, bits)
			want := make([]byte, PackedLen(n, bits))
			packGo(want, v, bits)
			if string(got[:2]) != string(prefix) || string(got[2:]) != string(want) {
				t.Fatalf("bits=%d n=%d: Pack %x, Go %x", bits, n, got[2:], want)
			}
			for _, add := range []bool{false, true} {
				g, w := make([]uint64, n), make([]uint64, n)
				for i := range g {
					g[i] = r.Uint64() & modMask(bits)
					w[i] = g[i]
				}
				unpack(g, want, bits, add)
				if bits <= 56 {
					unpackShort(w, want, bits, add, 0)
				} else {
					unpackLong(w, want, bits, add)
				}
				for i := range g {
					if g[i] != w[i] {
						t.Fatalf("bits=%d n=%d add=%v: element %d: kernel %#x, Go %#x", bits, n, add, i, g[i], w[i])
					}
				}
			}
		}
	}
}
