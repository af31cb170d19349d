// Package sketch is a count sketch (Charikar et al.; used for federated
// updates by FetchSGD, Rothchild et al. 2020): rows × cols counters, each
// coordinate i added with sign s_r(i) into counter h_r(i) of every row r.
// Sketching is linear, so over Z_2^B (wrap-around integers, as summed by
// secure aggregation) sketch(a) + sketch(b) = sketch(a + b) exactly. The
// server estimates a coordinate as the median over rows of s_r(i)·C[r][h_r(i)]
// and recovers the k largest.
package sketch

import (
	"crypto/sha256"
	"encoding/binary"
	"slices"
)

// Sketch holds the hash functions of one (seed, rows, cols, dim).
type Sketch struct {
	Rows, Cols, Dim int
	keys            []uint64
}

// New derives the row hash keys from seed.
func New(seed []byte, rows, cols, dim int) *Sketch {
	s := &Sketch{Rows: rows, Cols: cols, Dim: dim, keys: make([]uint64, rows)}
	for r := range s.keys {
		h := sha256.Sum256(binary.LittleEndian.AppendUint32(append([]byte("murmur/codec/sketch/v1"), seed...), uint32(r)))
		s.keys[r] = binary.LittleEndian.Uint64(h[:])
	}
	return s
}

// hash returns the counter of coordinate i in row r and whether its sign is
// negative: splitmix64's finalizer over key + i·golden, multiply-shift
// range reduction for the bucket and the lowest bit for the sign.
func (s *Sketch) hash(r, i int) (int, bool) {
	z := s.keys[r] + uint64(i)*0x9E3779B97F4A7C15
	z = (z ^ z>>30) * 0xBF58476D1CE4E5B9
	z = (z ^ z>>27) * 0x94D049BB133111EB
	z ^= z >> 31
	return int((z >> 32) * uint64(s.Cols) >> 32), z&1 == 1
}

// Len is the number of counters.
func (s *Sketch) Len() int { return s.Rows * s.Cols }

// AddInt adds the sketch of q (Dim values in Z_2^B, B given by mask = 2^B−1)
// into table (Len counters), mod 2^B.
func (s *Sketch) AddInt(table, q []uint64, mask uint64) {
	for r := 0; r < s.Rows; r++ {
		row := table[r*s.Cols : (r+1)*s.Cols]
		for i, v := range q[:s.Dim] {
			h, neg := s.hash(r, i)
			if neg {
				v = -v
			}
			row[h] = (row[h] + v) & mask
		}
	}
}

// MaxLoad is the most coordinates any one counter receives; it bounds how
// large a counter can grow.
func (s *Sketch) MaxLoad() int {
	load := make([]int32, s.Cols)
	m := 0
	for r := 0; r < s.Rows; r++ {
		clear(load)
		for i := 0; i < s.Dim; i++ {
			h, _ := s.hash(r, i)
			load[h]++
		}
		m = max(m, int(slices.Max(load)))
	}
	return m
}

// Estimate fills est (Dim values) with each coordinate's median estimate
// from table (real-valued counters).
func (s *Sketch) Estimate(est []float32, table []float32) {
	v := make([]float32, s.Rows)
	for i := range est[:s.Dim] {
		for r := range v {
			h, neg := s.hash(r, i)
			c := table[r*s.Cols+h]
			if neg {
				c = -c
			}
			v[r] = c
		}
		est[i] = median(v)
	}
}

func median(v []float32) float32 {
	// Insertion sort: rows are few.
	for i := 1; i < len(v); i++ {
		for j := i; j > 0 && v[j] < v[j-1]; j-- {
			v[j], v[j-1] = v[j-1], v[j]
		}
	}
	n := len(v)
	if n%2 == 1 {
		return v[n/2]
	}
	return (v[n/2-1] + v[n/2]) / 2
}

// AddFloat adds the sketch of x (Dim values, real) into table; the server
// uses it to subtract what it has already recovered (FetchSGD's error
// accumulation happens in sketch space).
func (s *Sketch) AddFloat(table []float32, x []float32, scale float32) {
	for r := 0; r < s.Rows; r++ {
		row := table[r*s.Cols : (r+1)*s.Cols]
		for i, v := range x[:s.Dim] {
			if v == 0 {
				continue
			}
			h, neg := s.hash(r, i)
			if neg {
				v = -v
			}
			row[h] += scale * v
		}
	}
}
