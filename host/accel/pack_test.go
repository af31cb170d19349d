package accel

import (
	"slices"
	"testing"
)

// The vector A pack must lay out exactly what the scalar loop does, for
// depths that are and are not multiples of its 8-step groups, and must not
// write past the panel.
func TestPack6Vector(t *testing.T) {
	if packA6 == nil {
		t.Skip("no vector pack on this CPU/build")
	}
	for _, kb := range []int{1, 7, 8, 9, 16, 23, 256} {
		for _, ld := range []int{kb, kb + 1, kb + 13} {
			s := ramp(5*ld+kb+3, 0.5)
			for i := range s {
				s[i] += float32(i) // every element distinct
			}
			want := make([]float32, 6*kb+4)
			for p := 0; p < kb; p++ {
				for r := 0; r < 6; r++ {
					want[p*6+r] = s[2+r*ld+p]
				}
			}
			got := make([]float32, 6*kb+4)
			for i := 6 * kb; i < len(got); i++ {
				got[i], want[i] = -7, -7 // a guard past the panel
			}
			pack6(got, s, ld, 2, kb)
			if !slices.Equal(got, want) {
				t.Fatalf("kb=%d ld=%d: pack6 gave\n%v\nwant\n%v", kb, ld, got, want)
			}
		}
	}
}

// Likewise for the 16-row transposing pack (op(B) stored transposed).
func TestPack16Vector(t *testing.T) {
	if packT16 == nil {
		t.Skip("no vector pack on this platform/build")
	}
	for _, kb := range []int{1, 7, 8, 9, 16, 23, 256} {
		for _, ld := range []int{kb, kb + 1, kb + 13} {
			s := make([]float32, 15*ld+kb+3)
			for i := range s {
				s[i] = float32(i) // every element distinct
			}
			want := make([]float32, 16*kb+4)
			for p := 0; p < kb; p++ {
				for x := 0; x < 16; x++ {
					want[p*16+x] = s[2+x*ld+p]
				}
			}
			got := make([]float32, 16*kb+4)
			for i := 16 * kb; i < len(got); i++ {
				got[i], want[i] = -7, -7 // a guard past the panel
			}
			pack16(got, s, ld, 2, kb)
			if !slices.Equal(got, want) {
				t.Fatalf("kb=%d ld=%d: pack16 gave\n%v\nwant\n%v", kb, ld, got, want)
			}
		}
	}
}
