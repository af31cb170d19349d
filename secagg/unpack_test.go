package secagg

import (
	"errors"
	"math/rand/v2"
	"slices"
	"testing"

	"github.com/murmur-fl/murmur/secagg/encode"
)

// unpackParallel gives encode.Unpack's result and errors for long vectors
// (the parallel path) at every width, with and without a reusable buffer.
func TestUnpackParallelMatchesUnpack(t *testing.T) {
	r := rand.New(rand.NewPCG(21, 22))
	for _, bits := range []int{1, 7, 13, 26, 32, 33, 63, 64} {
		for _, n := range []int{1 << 15, 1<<15 + 1, 100003} {
			v := make([]uint64, n)
			for i := range v {
				v[i] = r.Uint64()
				if bits < 64 {
					v[i] &= 1<<bits - 1
				}
			}
			src := encode.Pack(nil, v, bits)
			for _, buf := range [][]uint64{nil, make([]uint64, 5), make([]uint64, n+9)} {
				got, err := unpackParallel(buf, src, n, bits)
				if err != nil || !slices.Equal(got, v) {
					t.Fatalf("bits %d n %d: err %v, equal %v", bits, n, err, slices.Equal(got, v))
				}
			}
			if (n*bits)%8 != 0 {
				bad := slices.Clone(src)
				bad[len(bad)-1] |= 0x80
				if _, err := unpackParallel(nil, bad, n, bits); !errors.Is(err, encode.ErrPacked) {
					t.Fatalf("bits %d n %d: nonzero padding gave %v", bits, n, err)
				}
			}
			if _, err := unpackParallel(nil, src[:len(src)-1], n, bits); !errors.Is(err, encode.ErrPacked) {
				t.Fatalf("bits %d n %d: short input gave %v", bits, n, err)
			}
		}
	}
}
