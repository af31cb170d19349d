package ent

import (
	"bytes"
	"encoding/binary"
	"errors"
	"math/rand/v2"
	"testing"
)

func codes(n int, spread float64) []byte {
	r := rand.New(rand.NewPCG(1, 1))
	b := make([]byte, n)
	for i := range b {
		b[i] = byte(min(max(int(r.NormFloat64()*spread)+7, 0), 14))
	}
	return b
}

func TestRoundTrip(t *testing.T) {
	r := rand.New(rand.NewPCG(2, 2))
	random := make([]byte, 100000)
	for i := range random {
		random[i] = byte(r.Uint32())
	}
	for name, in := range map[string][]byte{
		"empty": nil, "tiny": {1, 2, 3}, "codes": codes(200000, 2), "constant": bytes.Repeat([]byte{7}, 70000),
		"random": random, "exact-chunk": codes(chunk, 1),
	} {
		enc := Append(nil, in)
		out, err := Decode(enc, len(in))
		if err != nil || !bytes.Equal(out, in) {
			t.Fatalf("%s: round trip failed: %v", name, err)
		}
		// Without repeats the mixed form is the same bytes.
		if mixed := AppendMixed(nil, in); !bytes.Equal(mixed, enc) && name != "constant" {
			t.Fatalf("%s: mixed form differs from Huffman-only on data without repeats", name)
		}
		if name == "codes" && len(enc) > len(in)*45/100 {
			t.Fatalf("3-bit-entropy codes coded to %d of %d bytes", len(enc), len(in))
		}
		if len(in) > 0 {
			if _, err := Decode(enc[:len(enc)-1], len(in)); !errors.Is(err, ErrCorrupt) {
				t.Fatalf("%s: truncated section accepted: %v", name, err)
			}
		}
		if _, err := Decode(append(enc, 0), len(in)); !errors.Is(err, ErrCorrupt) {
			t.Fatalf("%s: trailing byte accepted: %v", name, err)
		}
	}
}

// sparse returns n bytes that are zero except every step-th.
func sparse(n, step int) []byte {
	b := make([]byte, n)
	for i := 0; i < n; i += step {
		b[i] = byte(i/step*7 + 1)
	}
	return b
}

// Runs of repetitive chunks go to one zstd frame (mode 3), and the mixed
// decoder rejects malformed runs; the Huffman-only decoder rejects mode 3.
func TestMixed(t *testing.T) {
	// codes, then 3.5 chunks of zero runs, then codes: the run is in the
	// middle and ends in a short chunk only at the very end of sparseTail.
	mid := append(append(codes(chunk, 2), sparse(3*chunk+chunk/2, 100)...), codes(chunk/2, 2)...)
	for name, in := range map[string][]byte{
		"sparse":     sparse(5*chunk, 100),
		"sparseTail": sparse(2*chunk+123, 50),
		"middle":     mid,
		"constant":   bytes.Repeat([]byte{7}, 3*chunk),
	} {
		enc := AppendMixed(nil, in)
		out, err := DecodeMixed(enc, len(in))
		if err != nil || !bytes.Equal(out, in) {
			t.Fatalf("%s: mixed round trip failed: %v", name, err)
		}
		huff := Append(nil, in)
		if name == "constant" {
			if !bytes.Equal(enc, huff) { // RLE chunks are not repetitive runs
				t.Fatalf("constant: mixed form %d bytes, Huffman-only RLE %d", len(enc), len(huff))
			}
			continue
		}
		if !bytes.Contains(enc, []byte{modeZstd}) || len(enc) > len(huff)*3/4 {
			t.Fatalf("%s: mixed form %d bytes, Huffman only %d: zstd run not used", name, len(enc), len(huff))
		}
		if _, err := Decode(enc, len(in)); !errors.Is(err, ErrCorrupt) {
			t.Fatalf("%s: Huffman-only decoder accepted a zstd run: %v", name, err)
		}
		if _, err := DecodeMixed(enc[:len(enc)-1], len(in)); !errors.Is(err, ErrCorrupt) {
			t.Fatalf("%s: truncated mixed section accepted: %v", name, err)
		}
		if _, err := DecodeMixed(append(enc, 0), len(in)); !errors.Is(err, ErrCorrupt) {
			t.Fatalf("%s: trailing byte accepted: %v", name, err)
		}
	}
	// One run over the whole of sparse(5 chunks): k = 0 and k = 6 are
	// invalid, and k = 4 leaves a frame declaring more than the run.
	enc := AppendMixed(nil, sparse(5*chunk, 100))
	if enc[0] != modeZstd || binary.LittleEndian.Uint32(enc[1:]) != 5 {
		t.Fatalf("want one zstd run of 5 chunks, got mode %d k %d", enc[0], binary.LittleEndian.Uint32(enc[1:]))
	}
	for _, k := range []uint32{0, 4, 6, 1 << 31} {
		bad := append([]byte(nil), enc...)
		binary.LittleEndian.PutUint32(bad[1:], k)
		if _, err := DecodeMixed(bad, 5*chunk); !errors.Is(err, ErrCorrupt) {
			t.Fatalf("run of %d chunks accepted: %v", k, err)
		}
	}
}

func FuzzDecode(f *testing.F) {
	f.Add(Append(nil, codes(1000, 2)), 1000)
	f.Add(Append(nil, bytes.Repeat([]byte{3}, 100)), 100)
	f.Add(AppendMixed(nil, sparse(1000, 10)), 1000)
	f.Add(AppendMixed(nil, sparse(chunk+100, 10)), chunk+100)
	f.Fuzz(func(t *testing.T, b []byte, n int) {
		if n < 0 || n > 1<<20 {
			return
		}
		out, err := Decode(b, n)
		if err == nil && len(out) != n {
			t.Fatalf("decoded %d bytes, want %d", len(out), n)
		}
		out, err = DecodeMixed(b, n)
		if err == nil && len(out) != n {
			t.Fatalf("mixed: decoded %d bytes, want %d", len(out), n)
		}
	})
}

// TestIncompressible: uniform bytes go raw in the mixed form (and decode),
// skewed bytes (even slightly: 7.8 bits) and short chunks still get
// Huffman, and the result decodes either way.
func TestIncompressible(t *testing.T) {
	r := rand.New(rand.NewPCG(31, 32))
	uniform := make([]byte, 1<<18)
	for i := range uniform {
		uniform[i] = byte(r.Uint32())
	}
	if !incompressible(uniform[:chunk]) {
		t.Fatal("uniform bytes: not judged incompressible")
	}
	if incompressible(uniform[:8<<10]) {
		t.Fatal("a short chunk was judged incompressible")
	}
	skewed := make([]byte, chunk)
	for i := range skewed {
		// 7 bits uniform, the top bit set one time in eight: about 7.54
		// bits, which Huffman codes in fewer than 8.
		skewed[i] = byte(r.IntN(128))
		if r.IntN(8) == 0 {
			skewed[i] |= 128
		}
	}
	if incompressible(skewed) {
		t.Fatal("skewed bytes judged incompressible")
	}
	for _, src := range [][]byte{uniform, skewed, append(append([]byte(nil), uniform[:chunk]...), skewed...)} {
		enc := AppendMixed(nil, src)
		dec, err := DecodeMixed(enc, len(src))
		if err != nil || string(dec) != string(src) {
			t.Fatalf("round trip: %v", err)
		}
		if len(enc) > len(src)+5*(len(src)/chunk+1) {
			t.Fatalf("coded %d bytes for %d", len(enc), len(src))
		}
	}
	// The uniform chunks are stored raw: mode byte then the bytes.
	enc := AppendMixed(nil, uniform[:chunk])
	if enc[0] != modeRaw || len(enc) != chunk+1 {
		t.Fatalf("uniform chunk: mode %d, %d bytes", enc[0], len(enc))
	}
}

// LowerBound never exceeds what Append writes, on any mix of chunk kinds
// (one symbol, two, skewed, near-uniform, tiny tails), and is tight enough
// to be useful (within a few percent of Huffman on skewed codes).
func TestLowerBound(t *testing.T) {
	r := rand.New(rand.NewPCG(5, 6))
	check := func(name string, in []byte) {
		t.Helper()
		lb, got := LowerBound(in), len(Append(nil, in))
		if lb > got {
			t.Fatalf("%s (%d bytes): bound %d > coded %d", name, len(in), lb, got)
		}
	}
	for _, n := range []int{0, 1, 2, 3, 5, 17, 100, 1000, chunk - 1, chunk, chunk + 1, 3*chunk + 7} {
		for _, spread := range []float64{0, 0.3, 1, 2, 8, 40, 1000} {
			b := make([]byte, n)
			for i := range b {
				b[i] = byte(int(r.NormFloat64()*spread) + 7)
			}
			check("normal", b)
		}
		b := make([]byte, n)
		for i := range b {
			b[i] = byte(r.Uint32())
		}
		check("uniform", b)
		for i := range b {
			b[i] = byte(r.IntN(2) * 255)
		}
		check("two symbols", b)
		for i := range b {
			if r.IntN(1000) == 0 {
				b[i] = 1
			} else {
				b[i] = 0
			}
		}
		check("rare symbol", b)
		check("constant", bytes.Repeat([]byte{9}, n))
	}
	in := codes(200000, 2)
	if lb, got := LowerBound(in), len(Append(nil, in)); float64(lb) < 0.95*float64(got) {
		t.Errorf("bound %d is loose against %d coded bytes", lb, got)
	}
}

func FuzzLowerBound(f *testing.F) {
	f.Add([]byte{1, 2, 3})
	f.Add(codes(3000, 1))
	f.Add(bytes.Repeat([]byte{0, 0, 0, 1}, 5000))
	f.Fuzz(func(t *testing.T, in []byte) {
		if lb, got := LowerBound(in), len(Append(nil, in)); lb > got {
			t.Fatalf("bound %d > coded %d", lb, got)
		}
	})
}

func BenchmarkLowerBound(b *testing.B) {
	in := codes(460000, 2)
	b.SetBytes(int64(len(in)))
	for b.Loop() {
		LowerBound(in)
	}
}

// AppendRuns writes the mixed form: it round-trips through DecodeMixed,
// sends long zero runs and repeated patterns to zstd, sends chunks with
// many short zero runs and random chunks to Huffman or raw, and is never
// larger than Append by more than a mode byte per chunk.
func TestAppendRuns(t *testing.T) {
	r := rand.New(rand.NewPCG(3, 4))
	rnd := func(n int) []byte {
		b := make([]byte, n)
		for i := range b {
			b[i] = byte(r.Uint32())
		}
		return b
	}
	// Many short zero runs: 85% zero bytes, few repeated 8-byte words.
	shortRuns := func(n int) []byte {
		b := make([]byte, n)
		for i := range b {
			if r.IntN(100) >= 85 {
				b[i] = byte(1 + r.IntN(20))
			}
		}
		return b
	}
	// Words that repeat in pairs, from a small set (sign and exponent
	// bytes of a layer): repeated words that are not zero.
	var pattern []byte
	words := [][]byte{rnd(8), rnd(8), rnd(8)}
	for len(pattern) < 3*chunk {
		w := words[r.IntN(3)]
		pattern = append(append(pattern, w...), w...)
	}
	cases := map[string][]byte{
		"empty":      nil,
		"small":      rnd(100),
		"zeros":      make([]byte, 3*chunk+5),
		"sparse":     sparse(5*chunk, 100),
		"random":     rnd(2*chunk + 17),
		"codes":      codes(3*chunk, 2),
		"shortRuns":  shortRuns(2 * chunk),
		"pattern":    pattern,
		"mixed":      append(append(rnd(chunk+99), sparse(2*chunk, 300)...), codes(chunk, 3)...),
		"constant":   bytes.Repeat([]byte{9}, chunk+1),
		"sparseTail": sparse(2*chunk+123, 50),
	}
	for name, in := range cases {
		enc := AppendRuns([]byte("prefix"), in)
		if string(enc[:6]) != "prefix" {
			t.Fatalf("%s: dst prefix lost", name)
		}
		enc = enc[6:]
		out, err := DecodeMixed(enc, len(in))
		if err != nil || !bytes.Equal(out, in) {
			t.Fatalf("%s: round trip failed: %v", name, err)
		}
		if again := AppendRuns(nil, in); !bytes.Equal(again, enc) {
			t.Fatalf("%s: not deterministic", name)
		}
		plain := Append(nil, in)
		usesZstd := len(enc) > 0 && bytes.IndexByte(modes(t, enc, len(in)), modeZstd) >= 0
		switch name {
		case "zeros", "constant": // RLE chunks, as Append
			if !bytes.Equal(enc, plain) {
				t.Errorf("%s: %d bytes, Append %d", name, len(enc), len(plain))
			}
		case "sparse", "pattern", "sparseTail":
			if !usesZstd || len(enc) >= len(plain) {
				t.Errorf("%s: %d bytes (zstd %v), Huffman only %d", name, len(enc), usesZstd, len(plain))
			}
		case "random", "codes", "shortRuns", "small":
			if usesZstd {
				t.Errorf("%s: zstd used", name)
			}
			if len(enc) > len(plain) {
				t.Errorf("%s: %d bytes, Huffman only %d", name, len(enc), len(plain))
			}
		}
	}
}

// modes lists the chunk modes of a mixed section of n bytes.
func modes(t *testing.T, enc []byte, n int) []byte {
	var ms []byte
	for o := 0; o < n; {
		m := enc[0]
		ms = append(ms, m)
		want := min(chunk, n-o)
		switch m {
		case modeRaw:
			enc = enc[1+want:]
		case modeRLE:
			enc = enc[2:]
		case modeHuff:
			enc = enc[5+binary.LittleEndian.Uint32(enc[1:]):]
		case modeZstd:
			k := int(binary.LittleEndian.Uint32(enc[1:]))
			enc = enc[9+binary.LittleEndian.Uint32(enc[5:]):]
			want = min(k*chunk, n-o)
		default:
			t.Fatalf("mode %d", m)
		}
		o += want
	}
	return ms
}
