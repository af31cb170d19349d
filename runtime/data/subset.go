package data

import "fmt"

// Subset returns a new Dataset holding copies of the examples at idx, in
// that order (for a device's local data, or a small slice for quick runs).
func (d *Dataset) Subset(idx []int) (*Dataset, error) {
	for k, i := range idx {
		if i < 0 || i >= d.N {
			return nil, fmt.Errorf("data: Subset: index %d (position %d) is outside the data set of %d examples", i, k, d.N)
		}
	}
	var b Batch
	d.Gather(&b, idx)
	return &Dataset{X: b.X, Labels: b.Labels, N: len(idx), Dim: d.Dim, Shape: d.Shape, Classes: d.Classes}, nil
}

// Subset returns a new TextSet holding copies of the sequences at idx.
func (s *TextSet) Subset(idx []int) (*TextSet, error) {
	src := make([]int32, len(idx))
	for k, i := range idx {
		if i < 0 || i >= s.N {
			return nil, fmt.Errorf("data: Subset: index %d (position %d) is outside the set of %d sequences", i, k, s.N)
		}
		src[k] = s.Source[i]
	}
	var b Batch
	s.Gather(&b, idx)
	return &TextSet{Tokens: b.Tokens, Targets: b.Labels, Source: src, Sources: s.Sources, N: len(idx), Seq: s.Seq}, nil
}
