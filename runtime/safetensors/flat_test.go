package safetensors

import (
	"slices"
	"strings"
	"testing"
)

func TestExportImport(t *testing.T) {
	layout := []Region{
		{Name: "dense0.weight", Shape: []int{3, 2}, Offset: 0},
		{Name: "dense0.bias", Shape: []int{3}, Offset: 6},
	}
	params := []float32{1, 2, 3, 4, 5, 6, 7, 8, 9}
	ts, err := Export(params, layout)
	if err != nil {
		t.Fatal(err)
	}
	b, err := Marshal(ts, map[string]string{"format": "pt"})
	if err != nil {
		t.Fatal(err)
	}
	back, _, err := Read(b)
	if err != nil {
		t.Fatal(err)
	}
	got := make([]float32, 9)
	if err := Import(got, layout, back); err != nil {
		t.Fatal(err)
	}
	if !slices.Equal(got, params) {
		t.Errorf("round trip through a file: %v", got)
	}

	if _, err := Export(params[:8], layout); err == nil {
		t.Error("export past the end accepted")
	}
	cases := []struct {
		ts   []Tensor
		want string
	}{
		{back[:1], `no tensor "dense0.weight"`},
		{[]Tensor{back[0], {Name: "dense0.weight", Shape: []int{2, 3}, Data: make([]float32, 6)}}, "has shape [2 3], the model wants [3 2]"},
		{append(slices.Clone(back), Tensor{Name: "extra", Shape: []int{1}, Data: []float32{0}}), `tensor "extra"`},
	}
	for _, c := range cases {
		dst := make([]float32, 9)
		err := Import(dst, layout, c.ts)
		if err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("Import error %v, want one containing %q", err, c.want)
		}
		if slices.ContainsFunc(dst, func(v float32) bool { return v != 0 }) {
			t.Error("failed Import wrote into params")
		}
	}
}
