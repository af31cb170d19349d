package zst

import (
	"bytes"
	"testing"
)

func FuzzDecode(f *testing.F) {
	f.Add(Append(nil, bytes.Repeat([]byte("ab"), 300)), 600)
	f.Add(Append(nil, []byte("x")), 1)
	f.Fuzz(func(t *testing.T, src []byte, want int) {
		if want < 0 || want > 1<<20 {
			return
		}
		out, err := Decode(src, want)
		if err == nil && len(out) != want {
			t.Fatalf("decoded %d bytes, want %d", len(out), want)
		}
	})
}
