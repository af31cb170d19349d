package prg

// expandKey256 writes the 15 AES-256 round keys of key (FIPS 197 §5.2), each
// stored twice in a row (32 bytes) so the VAES kernel can apply it to two
// blocks per instruction. The schedule is checked against crypto/aes by the
// keystream tests.
func expandKey256(key *[32]byte, rk *[15 * 32]byte) {
	var w [60]uint32
	for i := range 8 {
		w[i] = uint32(key[4*i])<<24 | uint32(key[4*i+1])<<16 | uint32(key[4*i+2])<<8 | uint32(key[4*i+3])
	}
	rcon := uint32(1)
	for i := 8; i < 60; i++ {
		t := w[i-1]
		switch i % 8 {
		case 0:
			t = subWord(t<<8|t>>24) ^ rcon<<24
			rcon = uint32(xtime(byte(rcon)))
		case 4:
			t = subWord(t)
		}
		w[i] = w[i-8] ^ t
	}
	for r := range 15 {
		for c := range 4 {
			x := w[4*r+c]
			for half := range 2 {
				o := 32*r + 16*half + 4*c
				rk[o], rk[o+1], rk[o+2], rk[o+3] = byte(x>>24), byte(x>>16), byte(x>>8), byte(x)
			}
		}
	}
}

func subWord(x uint32) uint32 {
	return uint32(sbox[x>>24])<<24 | uint32(sbox[x>>16&0xff])<<16 | uint32(sbox[x>>8&0xff])<<8 | uint32(sbox[x&0xff])
}

// xtime multiplies by x in GF(2^8) mod x^8+x^4+x^3+x+1.
func xtime(b byte) byte {
	if b&0x80 != 0 {
		return b<<1 ^ 0x1b
	}
	return b << 1
}

// sbox is the AES S-box, computed (multiplicative inverse, then the affine
// map) rather than typed in: p walks the powers of 3, q those of 1/3.
var sbox = func() (s [256]byte) {
	rotl := func(x byte, k uint) byte { return x<<k | x>>(8-k) }
	p, q := byte(1), byte(1)
	for {
		p ^= xtime(p) // p·3
		q ^= q << 1   // q/3
		q ^= q << 2
		q ^= q << 4
		if q&0x80 != 0 {
			q ^= 0x09
		}
		s[p] = q ^ rotl(q, 1) ^ rotl(q, 2) ^ rotl(q, 3) ^ rotl(q, 4) ^ 0x63
		if p == 1 {
			break
		}
	}
	s[0] = 0x63
	return s
}()
