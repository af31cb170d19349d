package sketch

const golden = 0x9E3779B97F4A7C15

// hashConst is hashRowAVX2's constants (layout used by the assembly).
type hashConst struct {
	z0, step, c1, c1hi, c2, c2hi, cols, one [4]uint64
	perm                                    [8]uint32
}

// hashRow sets dst[j] = h<<1 | neg for coordinate start+j of the row with
// key: h the counter and neg the sign bit of hash(r, start+j). Buckets
// are below 2^31 (cols is an int32-sized count).
func (s *Sketch) hashRow(dst []uint32, key uint64, start int) {
	cols := uint64(s.Cols)
	if useAVX2 && len(dst) >= 8 {
		n := len(dst) &^ 7
		g := uint64(golden) // a variable: products wrap mod 2^64
		b := key + uint64(start)*g
		const c1, c2 = 0xBF58476D1CE4E5B9, 0x94D049BB133111EB
		c := hashConst{
			z0:   [4]uint64{b, b + g, b + 2*g, b + 3*g},
			step: [4]uint64{4 * g, 4 * g, 4 * g, 4 * g},
			c1:   [4]uint64{c1, c1, c1, c1}, c1hi: [4]uint64{c1 >> 32, c1 >> 32, c1 >> 32, c1 >> 32},
			c2: [4]uint64{c2, c2, c2, c2}, c2hi: [4]uint64{c2 >> 32, c2 >> 32, c2 >> 32, c2 >> 32},
			cols: [4]uint64{cols, cols, cols, cols}, one: [4]uint64{1, 1, 1, 1},
			perm: [8]uint32{0, 2, 4, 6, 0, 2, 4, 6},
		}
		hashRowAVX2(&dst[0], n, &c)
		dst = dst[n:]
		start += n
	}
	hashRowGo(dst, key, start, cols)
}

func hashRowGo(dst []uint32, key uint64, start int, cols uint64) {
	for j := range dst {
		z := mix(key, start+j)
		dst[j] = uint32((z>>32)*cols>>32)<<1 | uint32(z&1)
	}
}
