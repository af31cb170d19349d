package wire

import (
	"crypto/sha256"
	"encoding/binary"
	"math"
)

// ParamsHash is the SHA-256 of params as little-endian float32: the name
// of a model's parameters (Task.ParamsHash) whichever blob carried them.
func ParamsHash(params []float32) Hash {
	h := sha256.New()
	var buf [4096]byte
	for len(params) > 0 {
		n := min(len(params), len(buf)/4)
		for i, x := range params[:n] {
			binary.LittleEndian.PutUint32(buf[4*i:], math.Float32bits(x))
		}
		h.Write(buf[:4*n])
		params = params[n:]
	}
	var out Hash
	h.Sum(out[:0])
	return out
}
