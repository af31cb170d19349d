package encode

import (
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"math"
	"math/rand/v2"
	"testing"
)

func mustNew(t testing.TB, p Params) *Encoder {
	t.Helper()
	e, err := New(p)
	if err != nil {
		t.Fatal(err)
	}
	return e
}

func randVec(r *rand.Rand, d int, scale float64) []float32 {
	x := make([]float32, d)
	for i := range x {
		x[i] = float32(r.NormFloat64() * scale)
	}
	return x
}

func TestParamsValidation(t *testing.T) {
	good := Params{Dim: 10, Bits: 8, MaxClients: 100, ClipNorm: 1}
	if _, err := New(good); err != nil {
		t.Fatal(err)
	}
	bad := []Params{
		{Dim: 0, Bits: 8, MaxClients: 1, ClipNorm: 1},
		{Dim: 10, Bits: 1, MaxClients: 1, ClipNorm: 1},
		{Dim: 10, Bits: 33, MaxClients: 1, ClipNorm: 1},
		{Dim: 10, Bits: 8, MaxClients: 0, ClipNorm: 1},
		{Dim: 10, Bits: 8, MaxClients: 100, ModBits: 14, ClipNorm: 1}, // needs 15
		{Dim: 10, Bits: 8, MaxClients: 100, ModBits: 65, ClipNorm: 1},
		{Dim: 10, Bits: 8, MaxClients: 100, ClipNorm: 0},
		{Dim: 10, Bits: 8, MaxClients: 100, ClipNorm: math.NaN()},
		{Dim: 10, Bits: 8, MaxClients: 100, ClipNorm: 1, Range: -1},
		{Dim: 10, Bits: 8, MaxClients: 100, ClipNorm: 1, MaxWeight: 1 << 10}, // 100·1024 > 2^15
	}
	for i, p := range bad {
		if _, err := New(p); err == nil {
			t.Errorf("case %d: %+v accepted", i, p)
		}
	}
	if got := MinModBits(16, 1000); got != 26 {
		t.Errorf("MinModBits(16,1000) = %d, want 26", got)
	}
	if got := MinModBits(16, 1024); got != 26 {
		t.Errorf("MinModBits(16,1024) = %d, want 26", got)
	}
	if got := MinModBits(16, 1025); got != 27 {
		t.Errorf("MinModBits(16,1025) = %d, want 27", got)
	}
}

// Stochastic rounding is unbiased: the mean of many encodings of the same
// vector converges to it. With k samples the standard error per coordinate
// is at most Δ/(2·sqrt(k)); we allow 5 standard errors.
func TestUnbiased(t *testing.T) {
	for _, v := range []int{1, 2} {
		for _, rot := range []bool{false, true} {
			t.Run(fmt.Sprintf("v%d/rotate=%v", v, rot), func(t *testing.T) {
				testUnbiased(t, Params{Dim: 64 + 13, Bits: 4, MaxClients: 4000, ClipNorm: 10, Version: v, Rotate: rot, Seed: [32]byte{5}})
			})
		}
	}
}

func testUnbiased(t *testing.T, p Params) {
	d, k := p.Dim, p.MaxClients
	e := mustNew(t, p)
	r := rand.New(rand.NewPCG(1, 2))
	x := randVec(r, d, 0.5)
	sum := make([]uint64, e.Len())
	var buf []uint64
	src := rand.NewChaCha8([32]byte{7})
	for range k {
		var err error
		buf, err = e.Encode(buf, x, 1, src)
		if err != nil {
			t.Fatal(err)
		}
		AddMod(sum, buf, e.Params().ModBits)
	}
	mean, err := e.DecodeMean(sum)
	if err != nil {
		t.Fatal(err)
	}
	tol := 5 * e.Step() / (2 * math.Sqrt(float64(k)))
	for i := range x {
		if diff := math.Abs(float64(mean[i] - x[i])); diff > tol {
			t.Errorf("coord %d: mean %v, input %v, |diff| %.3g > %.3g (Δ=%.3g)", i, mean[i], x[i], diff, tol, e.Step())
		}
	}
	// And the quantization is coarse enough that unbiasedness is not trivial.
	if e.Step() < 0.5 {
		t.Fatalf("step %v too fine for this test to mean anything", e.Step())
	}
}

// The sum of n encodings decodes to the sum of the (clipped) inputs within
// n·Δ per coordinate (no rotation) or n·Δ·sqrt(P) in L2 (rotation).
func TestSumWithinBound(t *testing.T) {
	for _, rot := range []bool{false, true} {
		for _, weighted := range []bool{false, true} {
			const d, n = 1000, 50
			p := Params{Dim: d, Bits: 12, MaxClients: n, ClipNorm: 3, Rotate: rot, Seed: [32]byte{1, 2, 3}}
			if weighted {
				p.MaxWeight = 100
			}
			e := mustNew(t, p)
			r := rand.New(rand.NewPCG(3, uint64(len(t.Name()))))
			src := rand.NewPCG(5, 6)
			want := make([]float64, d)
			sum := make([]uint64, e.Len())
			var totalW uint64
			for j := range n {
				x := randVec(r, d, 0.05*float64(j%5+1)) // some exceed the clip norm
				var nrm float64
				for _, v := range x {
					nrm += float64(v) * float64(v)
				}
				nrm = math.Sqrt(nrm)
				s := 1.0
				if nrm > p.ClipNorm {
					s = p.ClipNorm / nrm
				}
				w := uint64(1)
				if weighted {
					w = uint64(r.IntN(101))
				}
				totalW += w
				for i, v := range x {
					want[i] += float64(w) * s * float64(v)
				}
				enc, err := e.Encode(nil, x, w, src)
				if err != nil {
					t.Fatal(err)
				}
				AddMod(sum, enc, e.Params().ModBits)
			}
			got, tw, err := e.DecodeSum(sum)
			if err != nil {
				t.Fatal(err)
			}
			if tw != totalW {
				t.Fatalf("total weight %d, want %d", tw, totalW)
			}
			W := float64(e.Params().MaxWeight)
			var l2, linf float64
			for i := range got {
				diff := math.Abs(float64(got[i]) - want[i])
				l2 += diff * diff
				linf = max(linf, diff)
			}
			l2 = math.Sqrt(l2)
			bound := n * e.Step() * W
			if rot {
				bound *= math.Sqrt(float64(e.Len() - 1))
				if l2 > bound {
					t.Errorf("rot=%v weighted=%v: L2 error %.4g > bound %.4g", rot, weighted, l2, bound)
				}
			} else if linf > bound {
				t.Errorf("rot=%v weighted=%v: L∞ error %.4g > bound %.4g", rot, weighted, linf, bound)
			}
			if l2 == 0 {
				t.Errorf("zero error is suspicious")
			}
		}
	}
}

// Negative sums wrap correctly through two's complement, and clamping
// keeps a coordinate at ±R.
func TestNegativeAndClamp(t *testing.T) {
	e := mustNew(t, Params{Dim: 3, Bits: 8, MaxClients: 4, ClipNorm: 10, Range: 1})
	sum := make([]uint64, e.Len())
	for range 4 {
		enc, err := e.Encode(nil, []float32{-1, 5, 0}, 1, rand.NewPCG(1, 1))
		if err != nil {
			t.Fatal(err)
		}
		AddMod(sum, enc, e.Params().ModBits)
	}
	got, tw, err := e.DecodeSum(sum)
	if err != nil {
		t.Fatal(err)
	}
	if tw != 4 || got[0] != -4 || got[1] != 4 || got[2] != 0 {
		t.Fatalf("got %v weight %d, want [-4 4 0] weight 4", got, tw)
	}
}

// On a heavy-tailed vector with a range tuned to the typical coordinate
// size, rotation spreads the outliers and lowers the error a lot.
func TestRotationHelpsHeavyTails(t *testing.T) {
	const d = 1000
	r := rand.New(rand.NewPCG(9, 9))
	x := make([]float32, d)
	for i := range x {
		// Student-t-like: normal / sqrt(uniform) has heavy tails.
		x[i] = float32(r.NormFloat64() / math.Sqrt(r.Float64()+1e-3) * 0.01)
	}
	var nrm float64
	for _, v := range x {
		nrm += float64(v) * float64(v)
	}
	nrm = math.Sqrt(nrm)
	// Range = 4 standard deviations of a rotated coordinate.
	rng := 4 * nrm / math.Sqrt(1024)
	for _, version := range []int{1, 2} {
		errFor := func(rot bool) float64 {
			e := mustNew(t, Params{Dim: d, Bits: 8, MaxClients: 1, ClipNorm: nrm * 2, Range: rng, Rotate: rot, Seed: [32]byte{42}, Version: version})
			enc, err := e.Encode(nil, x, 1, rand.NewPCG(1, 2))
			if err != nil {
				t.Fatal(err)
			}
			got, _, err := e.DecodeSum(enc)
			if err != nil {
				t.Fatal(err)
			}
			var s float64
			for i := range x {
				diff := float64(got[i] - x[i])
				s += diff * diff
			}
			return math.Sqrt(s) / nrm
		}
		plain, rotated := errFor(false), errFor(true)
		t.Logf("version %d: relative L2 error: plain %.6f, rotated %.6f", version, plain, rotated)
		if !(rotated < plain/3) {
			t.Fatalf("version %d: rotation did not help: plain %.4f, rotated %.4f", version, plain, rotated)
		}
	}
}

// Encoding is a pure function of its inputs and seeds; the digest pins the
// exact bytes so a change on any GOARCH (or a port) is caught.
func TestDeterministicDigest(t *testing.T) {
	for _, c := range []struct {
		version int
		want    string
	}{
		{1, "f33c26dfcfe79c274b366d5af9029e6f58fdd04b0ac9e57f78abac62b3cab79f"},
		{2, "10a734b29725a0584acf81649749987c3d003f0fd177bd39a1275942bc247405"},
	} {
		e := mustNew(t, Params{Dim: 300, Bits: 16, MaxClients: 1000, ClipNorm: 1, Range: 0.2, MaxWeight: 50, Rotate: true, Seed: [32]byte{1}, Version: c.version})
		r := rand.New(rand.NewPCG(11, 12))
		x := randVec(r, 300, 0.1)
		enc, err := e.Encode(nil, x, 17, rand.NewChaCha8([32]byte{2}))
		if err != nil {
			t.Fatal(err)
		}
		packed := Pack(nil, enc, e.Params().ModBits)
		sum := sha256.Sum256(packed)
		if got := hex.EncodeToString(sum[:]); got != c.want {
			t.Errorf("version %d: digest of the packed encoding = %s, want %s", c.version, got, c.want)
		}
	}
}

func TestEncodeErrors(t *testing.T) {
	e := mustNew(t, Params{Dim: 3, Bits: 8, MaxClients: 4, ClipNorm: 1, MaxWeight: 5})
	src := rand.NewPCG(1, 1)
	if _, err := e.Encode(nil, []float32{1, 2}, 1, src); err == nil {
		t.Error("short input accepted")
	}
	if _, err := e.Encode(nil, []float32{1, 2, 3}, 6, src); err == nil {
		t.Error("weight above MaxWeight accepted")
	}
	if _, err := e.Encode(nil, []float32{1, float32(math.NaN()), 3}, 1, src); err == nil {
		t.Error("NaN accepted")
	}
	if _, _, err := e.DecodeSum(make([]uint64, 3)); err == nil {
		t.Error("short sum accepted")
	}
	if _, err := e.DecodeMean(make([]uint64, 4)); err == nil {
		t.Error("zero total weight accepted")
	}
}

func TestPackRoundTrip(t *testing.T) {
	r := rand.New(rand.NewPCG(4, 4))
	for bits := 1; bits <= 64; bits++ {
		for _, n := range []int{0, 1, 2, 3, 7, 8, 9, 63, 64, 65, 200} {
			v := make([]uint64, n)
			for i := range v {
				v[i] = r.Uint64() & modMask(bits)
			}
			p := Pack([]byte{0xAA}, v, bits) // appends after a prefix
			if p[0] != 0xAA || len(p) != 1+PackedLen(n, bits) {
				t.Fatalf("bits=%d n=%d: bad prefix or length %d", bits, n, len(p))
			}
			got, err := Unpack(nil, p[1:], n, bits)
			if err != nil {
				t.Fatalf("bits=%d n=%d: %v", bits, n, err)
			}
			for i := range v {
				if got[i] != v[i] {
					t.Fatalf("bits=%d n=%d: element %d = %x, want %x", bits, n, i, got[i], v[i])
				}
			}
			if n > 0 && bits < 64 {
				// High garbage above bits is ignored by Pack.
				w := append([]uint64(nil), v...)
				w[0] |= ^modMask(bits)
				if !bytes.Equal(Pack(nil, w, bits), p[1:]) {
					t.Fatalf("bits=%d: high bits leaked into the packing", bits)
				}
			}
		}
	}
	// Reference layout: 3-bit elements 1,2,3,4,5 -> bits LSB first.
	got := Pack(nil, []uint64{1, 2, 3, 4, 5}, 3)
	if len(got) != 2 || got[0] != 0xD1 || got[1] != 0x58 {
		t.Fatalf("3-bit layout = % x, want d1 58", got)
	}
}

// Pack's grouped loop writes the layout bit by bit: element i's bit b at
// bit position i·bits+b, LSB first, for every width and length.
func TestPackMatchesBitwise(t *testing.T) {
	r := rand.New(rand.NewPCG(5, 5))
	for bits := 1; bits <= 64; bits++ {
		for _, n := range []int{1, 2, 3, 5, 8, 13, 64, 100, 129} {
			v := make([]uint64, n)
			for i := range v {
				v[i] = r.Uint64() // high garbage too
			}
			want := make([]byte, PackedLen(n, bits))
			for i, x := range v {
				for b := 0; b < bits; b++ {
					if x>>uint(b)&1 == 1 {
						p := i*bits + b
						want[p/8] |= 1 << uint(p%8)
					}
				}
			}
			if got := Pack(nil, v, bits); !bytes.Equal(got, want) {
				t.Fatalf("bits=%d n=%d: Pack % x, want % x", bits, n, got, want)
			}
		}
	}
}

func TestUnpackErrors(t *testing.T) {
	if _, err := Unpack(nil, []byte{1, 2}, 3, 8); err == nil {
		t.Error("short input accepted")
	}
	if _, err := Unpack(nil, []byte{1, 2, 3}, 2, 8); err == nil {
		t.Error("long input accepted")
	}
	if _, err := Unpack(nil, []byte{0xFF}, 2, 3); err == nil {
		t.Error("nonzero padding accepted")
	}
	if _, err := Unpack(nil, []byte{1}, 1<<30, 3); err == nil {
		t.Error("huge n accepted")
	}
	if _, err := Unpack(nil, nil, 1, 0); err == nil {
		t.Error("bits 0 accepted")
	}
}

func FuzzUnpack(f *testing.F) {
	f.Add([]byte{0xD1, 0x58}, 5, 3)
	f.Add([]byte{1, 2, 3, 4, 5, 6, 7, 8, 9}, 1, 63)
	f.Add([]byte{}, 0, 17)
	f.Add([]byte{0xFF, 0xFF, 0xFF, 0x0F}, 1, 28)
	f.Fuzz(func(t *testing.T, src []byte, n, bits int) {
		v, err := Unpack(nil, src, n, bits)
		// UnpackAdd accepts exactly what Unpack accepts and adds the same.
		var sum []uint64
		if n >= 0 && n <= 1<<16 {
			sum = make([]uint64, n)
			for i := range sum {
				sum[i] = uint64(i) * 0x9E3779B97F4A7C15
			}
			want := append([]uint64(nil), sum...)
			errAdd := UnpackAdd(sum, src, n, bits)
			if (err == nil) != (errAdd == nil) {
				t.Fatalf("Unpack error %v, UnpackAdd error %v", err, errAdd)
			}
			if err == nil {
				AddMod(want, v, bits)
			}
			if !equalU64(sum, want) {
				t.Fatalf("UnpackAdd sum differs from Unpack + AddMod (or changed on error)")
			}
		}
		if err != nil {
			return
		}
		if len(v) != n {
			t.Fatalf("got %d elements, want %d", len(v), n)
		}
		// Canonical: accepted input re-packs to the same bytes.
		if again := Pack(nil, v, bits); !bytes.Equal(again, src) {
			t.Fatalf("repack differs: % x vs % x", again, src)
		}
	})
}

func equalU64(a, b []uint64) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		if a[i] != b[i] {
			return false
		}
	}
	return true
}

// UnpackAdd adds exactly what Unpack returns, mod 2^bits, for every width,
// including partial last words, and rejects a sum of the wrong length.
func TestUnpackAdd(t *testing.T) {
	r := rand.New(rand.NewPCG(9, 9))
	for _, bits := range []int{1, 3, 8, 17, 18, 31, 32, 33, 63, 64} {
		for _, n := range []int{0, 1, 7, 64, 1001} {
			v := make([]uint64, n)
			sum := make([]uint64, n)
			for i := range v {
				v[i] = r.Uint64() & modMask(bits)
				sum[i] = r.Uint64() & modMask(bits)
			}
			src := Pack(nil, v, bits)
			want := append([]uint64(nil), sum...)
			AddMod(want, v, bits)
			if err := UnpackAdd(sum, src, n, bits); err != nil {
				t.Fatalf("bits %d n %d: %v", bits, n, err)
			}
			if !equalU64(sum, want) {
				t.Fatalf("bits %d n %d: UnpackAdd differs from Unpack + AddMod", bits, n)
			}
		}
	}
	src := Pack(nil, make([]uint64, 10), 18)
	if err := UnpackAdd(make([]uint64, 9), src, 10, 18); !errors.Is(err, ErrPacked) {
		t.Fatalf("short sum accepted: %v", err)
	}
	sum := []uint64{5, 6, 7}
	if err := UnpackAdd(sum, []byte{0xff, 0xff, 0xff, 0xff}, 3, 8); !errors.Is(err, ErrPacked) || sum[0] != 5 {
		t.Fatalf("wrong-length input: err %v, sum %v (must be unchanged)", err, sum)
	}
}

func BenchmarkPack(b *testing.B) {
	for _, bits := range []int{20, 26, 32, 40} {
		b.Run(fmt.Sprintf("bits=%d", bits), func(b *testing.B) {
			v := make([]uint64, 1<<20)
			for i := range v {
				v[i] = uint64(i) * 0x9E3779B97F4A7C15 & modMask(bits)
			}
			buf := make([]byte, 0, PackedLen(len(v), bits))
			b.SetBytes(int64(len(v)))
			for b.Loop() {
				buf = Pack(buf[:0], v, bits)
			}
		})
		b.Run(fmt.Sprintf("unpack/bits=%d", bits), func(b *testing.B) {
			v := make([]uint64, 1<<20)
			p := Pack(nil, v, bits)
			b.SetBytes(int64(len(v)))
			for b.Loop() {
				v, _ = Unpack(v, p, len(v), bits)
			}
		})
	}
}
