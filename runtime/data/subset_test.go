package data

import (
	"slices"
	"testing"
)

func TestSubset(t *testing.T) {
	d := seqSet(10, 3)
	s, err := d.Subset([]int{7, 2})
	if err != nil {
		t.Fatal(err)
	}
	if s.N != 2 || !slices.Equal(s.X, []float32{7, 7, 7, 2, 2, 2}) || !slices.Equal(s.Labels, []int32{7, 2}) || s.Dim != 3 {
		t.Errorf("subset %+v", s)
	}
	s.X[0] = 99
	if d.X[21] != 7 {
		t.Error("Subset aliases the parent")
	}
	if _, err := d.Subset([]int{10}); err == nil {
		t.Error("out-of-range index accepted")
	}
	ts := &TextSet{N: 3, Seq: 2, Tokens: []int32{1, 2, 3, 4, 5, 6}, Targets: []int32{2, 3, 4, 5, 6, 7}, Source: []int32{0, 1, 1}, Sources: []string{"a", "b"}}
	sub, err := ts.Subset([]int{2, 0})
	if err != nil {
		t.Fatal(err)
	}
	if sub.N != 2 || !slices.Equal(sub.Tokens, []int32{5, 6, 1, 2}) || !slices.Equal(sub.Targets, []int32{6, 7, 2, 3}) || !slices.Equal(sub.Source, []int32{1, 0}) {
		t.Errorf("text subset %+v", sub)
	}
	if _, err := ts.Subset([]int{-1}); err == nil {
		t.Error("negative index accepted")
	}
}
