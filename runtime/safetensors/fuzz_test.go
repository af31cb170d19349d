package safetensors

import (
	"bytes"
	"errors"
	"math"
	"testing"
)

// FuzzRead: Read never panics, fails only with ErrFormat, and what it
// accepts survives a write/read round trip bit for bit (F16 and BF16 widen
// to float32 exactly, so the re-encoded F32 file decodes to the same values).
func FuzzRead(f *testing.F) {
	f.Add(handFile)
	f.Add(file(`{"h":{"dtype":"F16","shape":[2],"data_offsets":[0,4]},"z":{"dtype":"BF16","shape":[1],"data_offsets":[4,6]}}`, []byte{0, 0x3c, 0, 0xc0, 0x80, 0x3f}))
	f.Add(file(`{"__metadata__":{"k":"v"},"a":{"dtype":"F32","shape":[0],"data_offsets":[0,0]}}`, nil))
	f.Add(file(`{"a":{"dtype":"F32","shape":[2],"data_offsets":[0,8]},"b":{"dtype":"F32","shape":[1],"data_offsets":[4,8]}}`, make([]byte, 8)))
	f.Add([]byte{0xff, 0xff, 0xff, 0xff, 0, 0, 0, 0, '{', '}'})
	f.Fuzz(func(t *testing.T, in []byte) {
		ts, meta, err := Read(in)
		if err != nil {
			if !errors.Is(err, ErrFormat) {
				t.Fatalf("error %v does not wrap ErrFormat", err)
			}
			return
		}
		for _, x := range ts {
			if n, ok := numElements(x.Shape); !ok || n != uint64(len(x.Data)) {
				t.Fatalf("tensor %q: shape %v with %d values", x.Name, x.Shape, len(x.Data))
			}
		}
		out, err := Marshal(ts, meta)
		if err != nil {
			t.Fatalf("re-encoding an accepted file: %v", err)
		}
		ts2, meta2, err := Read(out)
		if err != nil {
			t.Fatalf("reading our own output: %v", err)
		}
		if len(ts2) != len(ts) || len(meta2) != len(meta) {
			t.Fatalf("round trip changed counts")
		}
		byName := map[string][]float32{}
		for _, x := range ts {
			byName[x.Name] = x.Data
		}
		for _, x := range ts2 {
			want := byName[x.Name]
			for i := range want {
				if math.Float32bits(x.Data[i]) != math.Float32bits(want[i]) {
					t.Fatalf("%q[%d] changed in round trip", x.Name, i)
				}
			}
		}
		out2, _ := Marshal(ts2, meta2)
		if !bytes.Equal(out, out2) {
			t.Fatal("encoding is not a fixed point")
		}
	})
}
