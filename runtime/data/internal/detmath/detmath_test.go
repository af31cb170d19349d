package detmath

import (
	"math"
	"testing"
)

// The portable algorithms are within an ulp or so of the standard library's.
func TestMatchesStdlib(t *testing.T) {
	xs := []float64{1e-300, 1e-10, 0.001, 0.3, 0.5, 0.7071, 1, 1.5, 2, math.E, 10, 123.456, 1e10, 1e300}
	for _, x := range xs {
		if got, want := Log(x), math.Log(x); math.Abs(got-want) > 1e-15*math.Max(1, math.Abs(want)) {
			t.Errorf("Log(%g) = %.17g, want %.17g", x, got, want)
		}
	}
	for _, x := range []float64{-700, -20, -1, -1e-9, 0, 1e-9, 0.5, 1, 3, 20, 700} {
		if got, want := Exp(x), math.Exp(x); math.Abs(got-want) > 1e-15*want {
			t.Errorf("Exp(%g) = %.17g, want %.17g", x, got, want)
		}
	}
	if !math.IsInf(Log(0), -1) || !math.IsNaN(Log(-1)) || Exp(-1000) != 0 || !math.IsInf(Exp(1000), 1) {
		t.Error("special cases wrong")
	}
}

// Known answers pin the exact bits so a change in rounding anywhere shows up.
func TestExactBits(t *testing.T) {
	if got := math.Float64bits(Log(10)); got != math.Float64bits(2.302585092994046) {
		t.Errorf("Log(10) bits %x", got)
	}
	if got := math.Float64bits(Exp(1)); got != math.Float64bits(2.718281828459045) {
		t.Errorf("Exp(1) bits %x", got)
	}
}
