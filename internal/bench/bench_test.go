package bench

import (
	"strings"
	"testing"
)

// TestWriteTableRatios: ratios are against each case's first row, and only
// between rows of the same unit.
func TestWriteTableRatios(t *testing.T) {
	var b strings.Builder
	WriteTable(&b, []Result{
		{Bench: "codec/gru/ratio", Value: 4, Unit: "x"},
		{Bench: "codec/gru/encode", Value: 500, Unit: "MB/s"},
		{Bench: "train/mlp/native", Value: 100, Unit: "examples/s"},
		{Bench: "train/mlp/wasm", Value: 25, Unit: "examples/s"},
	})
	lines := strings.Split(strings.TrimSpace(b.String()), "\n")
	if len(lines) != 5 {
		t.Fatalf("table:\n%s", b.String())
	}
	for i, want := range []string{"1.00x", "-", "1.00x", "0.25x"} {
		if f := strings.Fields(lines[i+1]); f[len(f)-1] != want {
			t.Errorf("row %d ratio %q, want %q:\n%s", i, f[len(f)-1], want, b.String())
		}
	}
}
