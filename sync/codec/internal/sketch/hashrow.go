package sketch

const golden = 0x9E3779B97F4A7C15

// hashConst is hashRowAVX2's constants (layout used by the assembly).
type hashConst struct {
	z0, step, c1, c1hi, c2, c2hi, cols, one [4]uint64
	perm                                    [8]uint32
}

// hashRow sets dst[j] = h<<1 | neg for coordinate start+j of row r: h
// the counter and neg the sign bit of hash(r, start+j). Buckets are below
// 2^31 (cols is an int32-sized count).
func (s *Sketch) hashRow(dst []uint32, r, start int) {
	if s.mul != nil {
		s.hashRow3(dst, r, start)
		return
	}
	key := s.keys[r]
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

// hash3Const is hashRow3AVX2's constants (layout used by the assembly).
type hash3Const struct {
	za, zb, step, cols [4]uint64
	c1, c2, one        [8]uint32
}

// hashRow3 is hashRow for version 3: z = mul·(start+j) + add, g =
// fmix32(z>>32), dst[j] = (g·cols>>32)<<1 | g&1.
func (s *Sketch) hashRow3(dst []uint32, r, start int) {
	a := s.mul[r]
	z := a*uint64(start) + s.add[r]
	cols := uint64(s.Cols)
	if useAVX2 && len(dst) >= 8 {
		n := len(dst) &^ 7
		c := s.const3(r, start)
		hashRow3AVX2(&dst[0], n, &c)
		dst = dst[n:]
		z += uint64(n) * a
	}
	hashRow3Go(dst, z, a, cols)
}

func hashRow3Go(dst []uint32, z, a, cols uint64) {
	for j := range dst {
		g := fmix32(uint32(z >> 32))
		dst[j] = uint32(uint64(g)*cols>>32)<<1 | g&1
		z += a
	}
}

// const3 is the AVX2 kernels' state for coordinates start.. of row r.
func (s *Sketch) const3(r, start int) hash3Const {
	a := s.mul[r]
	z := a*uint64(start) + s.add[r]
	cols := uint64(s.Cols)
	// Lanes: even coordinates in za, odd in zb, eight per step.
	c := hash3Const{
		za:   [4]uint64{z, z + 2*a, z + 4*a, z + 6*a},
		zb:   [4]uint64{z + a, z + 3*a, z + 5*a, z + 7*a},
		step: [4]uint64{8 * a, 8 * a, 8 * a, 8 * a},
		cols: [4]uint64{cols, cols, cols, cols},
	}
	for k := range c.c1 {
		c.c1[k], c.c2[k], c.one[k] = 0x85EBCA6B, 0xC2B2AE35, 1
	}
	return c
}

// const3p is const3 with the lanes in signRow3AVX2's order: za holds
// coordinates 0, 4, 2, 6 and zb 1, 5, 3, 7.
func (s *Sketch) const3p(r, start int) hash3Const {
	c := s.const3(r, start)
	a := s.mul[r]
	z := a*uint64(start) + s.add[r]
	c.za = [4]uint64{z, z + 4*a, z + 2*a, z + 6*a}
	c.zb = [4]uint64{z + a, z + 5*a, z + 3*a, z + 7*a}
	return c
}

// signRow3 sets pk[j] = sv<<32 | idx for coordinate start+j of row r:
// idx its counter and sv = uint32(q[j]), negated (mod 2^32) when its sign
// is negative (version 3).
func (s *Sketch) signRow3(pk []uint64, q []uint64, r, start int) {
	q = q[:len(pk)]
	if useAVX2 && len(pk) >= 8 {
		n := len(pk) &^ 7
		c := s.const3p(r, start)
		signRow3AVX2(&pk[0], &q[0], n, &c)
		pk, q = pk[n:], q[n:]
		start += n
	}
	a, cols := s.mul[r], uint64(s.Cols)
	z := a*uint64(start) + s.add[r]
	for j := range pk {
		g := fmix32(uint32(z >> 32))
		m := -(g & 1)
		pk[j] = uint64((uint32(q[j])^m)-m)<<32 | uint64(g)*cols>>32
		z += a
	}
}
