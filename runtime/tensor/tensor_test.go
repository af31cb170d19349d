package tensor

import (
	"errors"
	"math"
	"testing"
)

// Known answers for splitmix64 (from the reference C implementation), so a
// port that differs on some GOARCH is caught.
func TestRNGKnownAnswer(t *testing.T) {
	r := NewRNG(0)
	want := []uint64{0xe220a8397b1dcdaf, 0x6e789e6aa1b965f4, 0x06c45d188009454f}
	for i, w := range want {
		if got := r.Uint64(); got != w {
			t.Fatalf("output %d = %#x, want %#x", i, got, w)
		}
	}
}

func TestRNGStateResume(t *testing.T) {
	a := NewRNG(42)
	a.Uint64()
	s := a.State()
	x := a.Float32()
	b := NewRNG(7)
	b.SetState(s)
	if y := b.Float32(); x != y {
		t.Fatalf("resumed stream gave %v, want %v", y, x)
	}
}

func TestRNGRanges(t *testing.T) {
	r := NewRNG(1)
	var sum float64
	for i := 0; i < 100000; i++ {
		f := r.Float32()
		if f < 0 || f >= 1 {
			t.Fatalf("Float32 out of range: %v", f)
		}
		sum += float64(f)
		if n := r.Intn(7); n < 0 || n >= 7 {
			t.Fatalf("Intn(7) = %d", n)
		}
	}
	if m := sum / 100000; math.Abs(m-0.5) > 0.01 {
		t.Fatalf("mean of Float32 = %v, want ~0.5", m)
	}
	p := r.Perm(50)
	seen := make([]bool, 50)
	for _, v := range p {
		if seen[v] {
			t.Fatalf("Perm repeated %d", v)
		}
		seen[v] = true
	}
	u := make([]float32, 1000)
	r.Uniform(u, -2, 3)
	for _, v := range u {
		if v < -2 || v >= 3 {
			t.Fatalf("Uniform out of range: %v", v)
		}
	}
}

func ulpDiff(a, b float32) float64 {
	if a == b {
		return 0
	}
	d := math.Abs(float64(a) - float64(b))
	return d / float64(math.Nextafter32(float32(math.Abs(float64(b))), float32(math.Inf(1)))-float32(math.Abs(float64(b))))
}

func TestMathAccuracy(t *testing.T) {
	r := NewRNG(3)
	for i := 0; i < 200000; i++ {
		x := float32((r.Float64()*2 - 1) * 90)
		if i%2 == 0 {
			x /= 30
		}
		if d := ulpDiff(Exp(x), float32(math.Exp(float64(x)))); d > 1 {
			t.Fatalf("Exp(%v) = %v, want %v (%.2f ulp)", x, Exp(x), math.Exp(float64(x)), d)
		}
		if d := ulpDiff(Tanh(x), float32(math.Tanh(float64(x)))); d > 2 {
			t.Fatalf("Tanh(%v) = %v, want %v (%.2f ulp)", x, Tanh(x), math.Tanh(float64(x)), d)
		}
		if want := float32(1 / (1 + math.Exp(-float64(x)))); ulpDiff(Sigmoid(x), want) > 2 {
			t.Fatalf("Sigmoid(%v) = %v, want %v", x, Sigmoid(x), want)
		}
		y := float32(math.Exp(float64((r.Float64()*2 - 1) * 80)))
		if d := ulpDiff(Log(y), float32(math.Log(float64(y)))); d > 1 {
			t.Fatalf("Log(%v) = %v, want %v (%.2f ulp)", y, Log(y), math.Log(float64(y)), d)
		}
	}
	tiny := []float32{1e-6, -1e-6, 0.005, -0.0099, 1e-30}
	for _, x := range tiny {
		if d := ulpDiff(Tanh(x), float32(math.Tanh(float64(x)))); d > 1 {
			t.Fatalf("Tanh(%v) = %v, want %v", x, Tanh(x), math.Tanh(float64(x)))
		}
	}
	if !math.IsInf(float64(Exp(100)), 1) || Exp(-200) != 0 || Exp(0) != 1 {
		t.Fatal("Exp edge cases wrong")
	}
	if !math.IsInf(float64(Log(0)), -1) || !math.IsNaN(float64(Log(-1))) || Log(1) != 0 {
		t.Fatal("Log edge cases wrong")
	}
	if Tanh(50) != 1 || Tanh(-50) != -1 || Sigmoid(-200) != 0 || Sigmoid(200) != 1 {
		t.Fatal("saturation wrong")
	}
	if Log(1e-40) >= -90 { // subnormal float32
		t.Fatalf("Log(1e-40) = %v", Log(1e-40))
	}
}

func TestNumElems(t *testing.T) {
	if n, err := NumElems([]int{2, 3, 4}); err != nil || n != 24 {
		t.Fatalf("NumElems = %d, %v", n, err)
	}
	for _, s := range [][]int{{0}, {3, -1}, {1 << 20, 1 << 20}} {
		if _, err := NumElems(s); !errors.Is(err, ErrShape) {
			t.Fatalf("NumElems(%v) err = %v, want ErrShape", s, err)
		}
	}
	if _, err := FromData(make([]float32, 5), 2, 3); err == nil {
		t.Fatal("FromData accepted a wrong length")
	}
	if tt := New(2, 3); tt.Len() != 6 {
		t.Fatal("New(2,3) wrong size")
	}
}

func BenchmarkExp(b *testing.B) {
	x := make([]float32, 1024)
	NewRNG(1).Uniform(x, -20, 5)
	var s float32
	for i := 0; i < b.N; i++ {
		for _, v := range x {
			s += Exp(v)
		}
	}
	_ = s
	b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N*1024), "ns/exp")
}
