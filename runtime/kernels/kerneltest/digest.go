package kerneltest

import (
	"crypto/sha256"
	"encoding/binary"
	"encoding/hex"
	"math"
	"math/rand/v2"

	"github.com/murmur-fl/murmur/runtime/kernels"
)

// Digest runs a fixed set of seeded Gemm calls on b (all transposes, odd
// shapes, k longer than a block, alpha/beta variants, a NaN and an Inf) and
// returns the hex SHA-256 of every output bit. Backends that promise
// bit-identical results on every platform, such as kernels.Portable native
// and in wasm, must return the same digest everywhere.
func Digest(b kernels.Backend) string {
	h := sha256.New()
	rng := rand.New(rand.NewPCG(7, 11))
	shapes := [][3]int{{1, 1, 1}, {3, 5, 7}, {17, 9, 33}, {64, 64, 64}, {37, 70, 600}, {130, 19, 257}}
	params := [][2]float32{{1, 0}, {-0.5, 1}, {1.5, 0.25}}
	var buf [4]byte
	for si, s := range shapes {
		for _, ta := range []bool{false, true} {
			for _, tb := range []bool{false, true} {
				ab := params[si%len(params)]
				c := NewCase(rng, ta, tb, s[0], s[1], s[2], si%3, ab[0], ab[1])
				if si == 2 {
					c.B[len(c.B)/2] = float32(math.NaN())
					c.A[0] = float32(math.Inf(1))
				}
				b.Gemm(c.TransA, c.TransB, c.M, c.N, c.K, c.Alpha, c.A, c.LDA, c.B, c.LDB, c.Beta, c.C, c.LDC)
				for _, v := range c.C {
					bits := math.Float32bits(v)
					if v != v {
						bits = 0x7fc00000 // one NaN: payloads may differ by platform
					}
					binary.LittleEndian.PutUint32(buf[:], bits)
					h.Write(buf[:])
				}
			}
		}
	}
	return hex.EncodeToString(h.Sum(nil))
}
