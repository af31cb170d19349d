package relay

import (
	"errors"
	"testing"
)

// FuzzAggregatorAdd feeds arbitrary update payloads to the plaintext
// aggregation path: it must accept exactly the well-formed finite ones and
// never panic.
func FuzzAggregatorAdd(f *testing.F) {
	f.Add(EncodeFloat32([]float32{1, 2, 3, 4}), 1.0)
	f.Add([]byte{0, 0, 0xc0, 0x7f, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0}, 2.0) // NaN
	f.Add([]byte{1, 2, 3}, 1.0)
	f.Fuzz(func(t *testing.T, p []byte, w float64) {
		a, _ := NewAggregator(RuleConfig{}, 4, nil)
		err := a.Add(p, w)
		if err != nil {
			if !errors.Is(err, ErrBadUpdate) {
				t.Fatalf("error %v does not wrap ErrBadUpdate", err)
			}
			if a.Count() != 0 {
				t.Fatal("rejected update counted")
			}
			return
		}
		if len(p) != 16 || a.Count() != 1 {
			t.Fatalf("accepted %d bytes", len(p))
		}
	})
}

// FuzzAuthenticate checks that no token but the issued one authenticates.
func FuzzAuthenticate(f *testing.F) {
	h := HMACTokens{Secret: []byte("fuzz")}
	f.Add(h.Issue("dev"))
	f.Add("dev.")
	f.Add("..")
	f.Fuzz(func(t *testing.T, tok string) {
		d, err := h.Authenticate(tok)
		if err == nil && h.Issue(d) != tok {
			t.Fatalf("token %q authenticated as %q", tok, d)
		}
	})
}
