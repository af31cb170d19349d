package tensor

import "testing"

func TestSkipIsDraws(t *testing.T) {
	a, b := NewRNG(9), NewRNG(9)
	for range 1000 {
		a.Float32()
	}
	b.Skip(1000)
	if a.State() != b.State() || a.Uint64() != b.Uint64() {
		t.Fatal("Skip(1000) does not leave the generator where 1000 draws do")
	}
}
