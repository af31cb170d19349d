package secagg

import (
	"errors"
	"math/rand/v2"
	"slices"
	"testing"

	"github.com/murmur-fl/murmur/secagg/encode"
)

// addPacked adds exactly what encode.Unpack decodes, at every width, for
// short vectors and long ones (split over the cores); checkPacked refuses
// what encode.Unpack refuses.
func TestAddPackedMatchesUnpack(t *testing.T) {
	r := rand.New(rand.NewPCG(21, 22))
	for _, bits := range []int{1, 7, 13, 26, 32, 33, 56, 57, 63, 64} {
		mask := ^uint64(0)
		if bits < 64 {
			mask = 1<<bits - 1
		}
		for _, n := range []int{1, 9, 1025, 1 << 15, 1<<15 + 1, 100003} {
			v := make([]uint64, n)
			sum := make([]uint64, n)
			for i := range v {
				v[i] = r.Uint64() & mask
				sum[i] = r.Uint64() & mask
			}
			src := encode.Pack(nil, v, bits)
			if err := checkPacked(src, n, bits); err != nil {
				t.Fatalf("bits %d n %d: %v", bits, n, err)
			}
			want := slices.Clone(sum)
			for i := range want {
				want[i] = (want[i] + v[i]) & mask
			}
			addPacked(sum, src, n, bits)
			if !slices.Equal(sum, want) {
				t.Fatalf("bits %d n %d: sum differs", bits, n)
			}
			bads := [][]byte{src[:len(src)-1], append(slices.Clone(src), 0)}
			if (n*bits)%8 != 0 {
				bad := slices.Clone(src)
				bad[len(bad)-1] |= 0x80
				bads = append(bads, bad)
			}
			for _, bad := range bads {
				_, uerr := encode.Unpack(nil, bad, n, bits)
				if err := checkPacked(bad, n, bits); !errors.Is(err, encode.ErrPacked) || err.Error() != uerr.Error() {
					t.Fatalf("bits %d n %d: checkPacked %v, Unpack %v", bits, n, err, uerr)
				}
			}
		}
	}
}
