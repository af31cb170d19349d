package codec

import "math"

// RelativeError is ||got − want||₂ / ||want||₂ (in float64), the error
// measure the codec tests, the simulator and `murmur bench codec` report.
// It is 0 when got equals want, +Inf when want is zero and got is not, and
// it panics if the lengths differ (a caller bug, not data).
func RelativeError(got, want []float32) float64 {
	if len(got) != len(want) {
		panic("codec: RelativeError of vectors of different lengths")
	}
	var d2, w2 float64
	for i, w := range want {
		d := float64(got[i]) - float64(w)
		d2 += d * d
		w2 += float64(w) * float64(w)
	}
	if d2 == 0 {
		return 0
	}
	return math.Sqrt(d2) / math.Sqrt(w2)
}
