package data

import (
	"bytes"
	"errors"
	"strings"
	"testing"
	"unicode/utf8"
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

// FuzzFortunes: any text parses and tokenizes without panicking; tokens are
// non-empty, lowercase, and free of separators.
func FuzzFortunes(f *testing.F) {
	f.Add("First one.\n  second\n%\nB\bBold _\bu\n%\nlast, Don't PANIC!", true)
	f.Add("%\n%\n%", false)
	f.Add("\b\b\bx\n%\r\nÜnïcode ÉCOLE naïve’s", true)
	f.Add("a\x00b", false)
	f.Fuzz(func(t *testing.T, in string, punct bool) {
		docs, err := ParseFortunes(strings.NewReader(in), "fuzz")
		if err != nil {
			return
		}
		for _, d := range docs {
			if d.Text == "" || d.Source != "fuzz" {
				t.Fatalf("bad document %+v", d)
			}
			for _, tok := range Tokenize(d.Text, punct) {
				if tok == "" || strings.ContainsAny(tok, " \n\t%") {
					t.Fatalf("bad token %q", tok)
				}
				if low := strings.ToLower(tok); low != tok && utf8.ValidString(tok) {
					t.Fatalf("token %q not lowercase", tok)
				}
			}
		}
	})
}

// FuzzBaselines: the baselines.json parser fails cleanly on any input.
func FuzzBaselines(f *testing.F) {
	f.Add([]byte(`{"common":{},"classifiers":{"SVC":[{"C":[1.0,10.0]},{"kernel":["rbf","poly"]}]}}`))
	f.Add([]byte(`{"classifiers":{}}`))
	f.Add([]byte(`{"classifiers":{"X":[{"a":1}]}}`))
	f.Fuzz(func(t *testing.T, in []byte) {
		b, err := ParseFashionBaselines(in, "fuzz.json")
		if err != nil {
			if !strings.Contains(err.Error(), "fuzz.json") {
				t.Fatalf("error %v does not name the file", err)
			}
			return
		}
		if len(b.Classifiers) == 0 {
			t.Fatal("accepted a file without classifiers")
		}
	})
}
