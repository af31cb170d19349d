package data

import (
	"bytes"
	"errors"
	"testing"
)

// FuzzIDX feeds arbitrary bytes (plain or gzip) to the IDX reader: it must
// either fail with ErrIDX or return data whose length matches its header,
// and never allocate beyond the cap.
func FuzzIDX(f *testing.F) {
	f.Add(makeIDX([]int{2, 2, 2}, []byte{1, 2, 3, 4, 5, 6, 7, 8}))
	f.Add(makeIDX([]int{3}, []byte{9, 0, 4}))
	f.Add(gz(f, makeIDX([]int{1, 2, 3}, []byte{0, 255, 51, 102, 153, 204})))
	f.Add(makeIDX([]int{60000, 28, 28}, nil))
	f.Add([]byte{0, 0, 0x0d, 1, 0, 0, 0, 1, 0, 0, 0, 0})
	f.Fuzz(func(t *testing.T, in []byte) {
		idx, err := ReadIDX(bytes.NewReader(in), "fuzz")
		if err != nil {
			if !errors.Is(err, ErrIDX) {
				t.Fatalf("error %v does not wrap ErrIDX", err)
			}
			return
		}
		n := 1
		for _, d := range idx.Dims {
			n *= d
		}
		if n != len(idx.Data) || n > MaxIDXBytes {
			t.Fatalf("dims %v but %d bytes", idx.Dims, len(idx.Data))
		}
		if len(idx.Dims) == 3 && idx.Dims[0] <= len(in) {
			lab := &IDX{Dims: idx.Dims[:1], Data: make([]byte, idx.Dims[0])}
			if _, err := NewImageSet(idx, lab, 10, "img", "lab"); err != nil {
				t.Fatalf("consistent images rejected: %v", err)
			}
		}
	})
}
