package codec

import (
	"bytes"
	"encoding/binary"
	"errors"
	"math"
	"math/rand/v2"
	"testing"

	"github.com/murmur-fl/murmur/sync/codec/internal/ent"
	"github.com/murmur-fl/murmur/sync/codec/internal/frame"
)

// sigSplitRef is version 4's layout (planes and counts, FORMAT.md) by
// the definition, one word at a time.
func sigSplitRef(w []float32) ([]byte, [2]int) {
	s := len(w)
	p0, p1 := make([]byte, s), make([]byte, s)
	var p2, p3 []byte
	cnt := make([]byte, (s+3)/4)
	for i, f := range w {
		v := math.Float32bits(f)
		p0[i], p1[i] = byte(v), byte(v>>8)
		c := 0
		switch {
		case v>>24 != 0:
			c = 2
			p2 = append(p2, byte(v>>16))
			p3 = append(p3, byte(v>>24))
		case v>>16 != 0:
			c = 1
			p2 = append(p2, byte(v>>16))
		}
		cnt[i/4] |= byte(c << (2 * (i % 4)))
	}
	out := append(append(append(append(p0, p1...), p2...), p3...), cnt...)
	return out, [2]int{len(p2), len(p3)}
}

// sigWords returns n words (float32 bit patterns) of the kinds version 4
// sees: mostly 2-byte XORs, some 3-byte, a few 4-byte and 1-byte, in
// runs or mixed, by pattern.
func sigWords(r *rand.Rand, n, pattern int) []float32 {
	w := make([]float32, n)
	for i := range w {
		var nb int
		switch pattern {
		case 0: // mixed
			nb = []int{1, 2, 2, 2, 2, 2, 3, 3, 4}[r.IntN(9)]
		case 1: // runs of 8..40 of one kind
			nb = 1 + (i/(8+i%33))%4
		case 2: // all 2-byte
			nb = 2
		case 3: // all 4-byte
			nb = 4
		default: // any bits
			w[i] = math.Float32frombits(r.Uint32())
			continue
		}
		v := r.Uint32() >> (32 - 8*uint(nb))
		v |= 1 << (8*uint(nb) - 1 - uint(r.IntN(8))) // its top byte not zero
		w[i] = math.Float32frombits(v)
	}
	return w
}

// TestSigSplitJoin checks sigSplit against the definition and sigJoin
// against splitWords, for lengths around the 8-word groups.
func TestSigSplitJoin(t *testing.T) {
	r := rand.New(rand.NewPCG(4, 9))
	for _, n := range append(lengths(70), 1000, 4099, 65537) {
		for pattern := range 5 {
			w := sigWords(r, n, pattern)
			want, wantN := sigSplitRef(w)
			out := make([]byte, sigScratch(n))
			for i := range out {
				out[i] = 0xa5 // no zeroed scratch assumed
			}
			gotN, o := sigSplit(out, w)
			if gotN != wantN || !bytes.Equal(out[:o], want) {
				t.Fatalf("n=%d pattern %d: split %v (%d bytes), want %v (%d bytes)", n, pattern, gotN, o, wantN, len(want))
			}
			// sigJoin reads one byte past a plane's end: the counts
			// follow; in a payload the mask follows them.
			raw := append(append([]byte(nil), want...), 0x5a)
			full := make([]byte, sigJoinScratch(n))
			for i := range full {
				full[i] = 0xa5
			}
			if err := checkCounts(raw[len(want)-(n+3)/4:len(want)], n, wantN); err != nil {
				t.Fatalf("n=%d pattern %d: %v", n, pattern, err)
			}
			sigJoin(full, raw, n, wantN)
			planes := make([]byte, 4*n)
			splitWords(planes, w)
			if !bytes.Equal(full[:4*n], planes) {
				t.Fatalf("n=%d pattern %d: join differs from the planes", n, pattern)
			}
		}
	}
}

func lengths(k int) []int {
	l := make([]int, k)
	for i := range l {
		l[i] = i
	}
	return l
}

// TestSigBytesKernels: compactBytes and expandBytes (the SSSE3 kernels
// where they run) against their Go loops, on masks of every kind. Two
// mutations of each kernel's table (a wrong lane, a wrong count) are
// caught.
func TestSigBytesKernels(t *testing.T) {
	r := rand.New(rand.NewPCG(7, 7))
	for _, ng := range []int{0, 1, 2, 3, 7, 64, 1000, 8193} {
		for density := range 5 {
			src := make([]byte, 8*ng)
			masks := make([]byte, ng)
			for i := range src {
				src[i] = byte(r.Uint32())
			}
			for g := range masks {
				switch density {
				case 0:
					masks[g] = 0
				case 1:
					masks[g] = 0xff
				case 2:
					masks[g] = byte(r.Uint32())
				default:
					if r.IntN(4) == 0 {
						masks[g] = byte(r.Uint32()) & byte(r.Uint32())
					} else if density == 3 {
						masks[g] = 0
					} else {
						masks[g] = 0xff
					}
				}
			}
			checkSigBytes(t, src, masks)
		}
	}
}

func checkSigBytes(t *testing.T, src, masks []byte) {
	t.Helper()
	a, b := append([]byte(nil), src...), append([]byte(nil), src...)
	ja, jb := compactBytes(a, masks), compactBytesGo(b, masks)
	if ja != jb || !bytes.Equal(a[:ja], b[:jb]) {
		t.Fatalf("compactBytes: %d bytes, Go %d (or other bytes), %d groups", ja, jb, len(masks))
	}
	packed := append(append([]byte(nil), a[:ja]...), make([]byte, 8)...) // the kernel's 8 readable bytes
	ea, eb := make([]byte, 8*len(masks)), make([]byte, 8*len(masks))
	ka, kb := expandBytes(ea, packed, masks, ja), expandBytesGo(eb, packed, masks)
	if ka != kb || ka != ja || !bytes.Equal(ea, eb) {
		t.Fatalf("expandBytes: %d bytes read, Go %d, packed %d (or other bytes)", ka, kb, ja)
	}
	for g, m := range masks {
		for u := range 8 {
			want := byte(0)
			if m>>u&1 != 0 {
				want = src[8*g+u]
			}
			if ea[8*g+u] != want {
				t.Fatalf("group %d byte %d: %#x, want %#x", g, u, ea[8*g+u], want)
			}
		}
	}
}

func TestSigBytesKernelMutations(t *testing.T) {
	if !useAVX2 {
		t.Skip("no kernel")
	}
	src := make([]byte, 8*64)
	masks := make([]byte, 64)
	for i := range src {
		src[i] = byte(i*7 + 1)
	}
	for g := range masks {
		masks[g] = byte(g * 37)
	}
	caught := func(mut func(), undo func()) bool {
		mut()
		defer undo()
		a, b := append([]byte(nil), src...), append([]byte(nil), src...)
		ja, jb := compactBytes(a, masks), compactBytesGo(b, masks)
		if ja != jb || !bytes.Equal(a[:ja], b[:jb]) {
			return true
		}
		packed := append(append([]byte(nil), a[:ja]...), make([]byte, 8)...)
		ea, eb := make([]byte, len(src)), make([]byte, len(src))
		return expandBytes(ea, packed, masks, ja) != expandBytesGo(eb, packed, masks) || !bytes.Equal(ea, eb)
	}
	m := byte(5 * 37) // a mask that occurs
	c0, e0, n0 := compactLUT8[m][1], expandLUT8[m][0], compactCount[m]
	if !caught(func() { compactLUT8[m][1] ^= 1 }, func() { compactLUT8[m][1] = c0 }) {
		t.Error("a wrong compaction lane was not caught")
	}
	if !caught(func() { expandLUT8[m][0] = 0x80 }, func() { expandLUT8[m][0] = e0 }) {
		t.Error("a wrong expansion lane was not caught")
	}
	if !caught(func() { compactCount[m]++ }, func() { compactCount[m] = n0 }) {
		t.Error("a wrong count was not caught")
	}
}

// FuzzSigBytes is differential: compactBytes and expandBytes against
// their Go loops on fuzzer-chosen bytes and masks.
func FuzzSigBytes(f *testing.F) {
	f.Add([]byte{0xff, 0, 0x81, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15, 16, 17, 18, 19, 20, 21, 22, 23, 24, 25, 26})
	f.Add(bytes.Repeat([]byte{0x0f, 1, 2, 3, 4, 5, 6, 7, 8}, 40))
	f.Fuzz(func(t *testing.T, data []byte) {
		ng := len(data) / 9
		checkSigBytes(t, data[ng:9*ng], data[:ng])
	})
}

// TestSigDeltaCorrupt: a version 4 blob whose counts disagree with its
// params, or whose params are out of range, is ErrCorrupt.
func TestSigDeltaCorrupt(t *testing.T) {
	r := rand.New(rand.NewPCG(1, 8))
	const d = 61
	base := heavyTailed(r, d, 0.05)
	x := append([]float32(nil), base...)
	for i := 0; i < d; i += 3 {
		x[i] += 0.5 // 3- and 4-byte XORs
	}
	x[1] = math.Float32frombits(math.Float32bits(x[1]) ^ 0x300) // a 2-byte one
	good, err := mustEncoder(t, Config{Codec: "float32", Zstd: true}).EncodeModel(x, 2, base, 1)
	if err != nil {
		t.Fatal(err)
	}
	h, payload, err := parse(good, nil)
	if err != nil || h.CodecVersion != 4 {
		t.Fatalf("version %d: %v", h.CodecVersion, err)
	}
	p, err := parseDenseParams(h)
	if err != nil || p.stored != 22 || p.high[0] == 0 || p.high[1] == 0 {
		t.Fatalf("params %+v: %v", p, err)
	}
	n := p.payloadLen(IDFloat32, d)
	raw, err := ent.DecodeMixed(payload, n)
	if err != nil {
		t.Fatal(err)
	}
	cnt := n - (d+7)/8 - (p.stored+3)/4 // the counts' offset
	build := func(mut func(h *frame.Header, raw []byte) []byte) []byte {
		h2 := h
		h2.Params = append([]byte(nil), h.Params...)
		r2 := mut(&h2, append([]byte(nil), raw...))
		h2.Flags = 0 // raw payload: the layout itself
		b, err := frame.Append(nil, &h2, r2)
		if err != nil {
			t.Fatal(err)
		}
		return b
	}
	if got, _, err := DecodeModel(build(func(h *frame.Header, raw []byte) []byte { return raw }), base, 1); err != nil {
		t.Fatalf("the raw form of a good blob: %v", err)
	} else {
		for i := range x {
			if math.Float32bits(got[i]) != math.Float32bits(x[i]) {
				t.Fatalf("coordinate %d: %g, want %g", i, got[i], x[i])
			}
		}
	}
	setU32 := func(h *frame.Header, off, v int) { binary.LittleEndian.PutUint32(h.Params[off:], uint32(v)) }
	for name, mut := range map[string]func(h *frame.Header, raw []byte) []byte{
		"count of 3": func(h *frame.Header, raw []byte) []byte {
			raw[cnt] |= 3
			return raw
		},
		"count bit past the last word": func(h *frame.Header, raw []byte) []byte {
			raw[n-(d+7)/8-1] |= 0x80 // 22 words: the last count byte holds 2
			return raw
		},
		"a count lowered": func(h *frame.Header, raw []byte) []byte {
			for k := cnt; k < n-(d+7)/8; k++ {
				if raw[k]&3 != 0 {
					raw[k]--
					break
				}
			}
			return raw
		},
		"n2 above S": func(h *frame.Header, raw []byte) []byte {
			setU32(h, 24, 23)
			return raw
		},
		"n3 above n2": func(h *frame.Header, raw []byte) []byte {
			setU32(h, 28, p.high[0]+1)
			return raw
		},
		"n2 off by one": func(h *frame.Header, raw []byte) []byte {
			setU32(h, 24, p.high[0]-1)
			return raw[:len(raw)-1]
		},
		"params short": func(h *frame.Header, raw []byte) []byte {
			h.Params = h.Params[:28]
			return raw
		},
		"bf16": func(h *frame.Header, raw []byte) []byte {
			h.Codec = uint8(IDBF16)
			return raw
		},
		"snapshot": func(h *frame.Header, raw []byte) []byte {
			binary.LittleEndian.PutUint64(h.Params[8:], 0)
			return raw
		},
		"mask bit cleared": func(h *frame.Header, raw []byte) []byte {
			raw[len(raw)-8] &^= 1
			return raw
		},
	} {
		b := build(mut)
		if _, _, err := DecodeModel(b, base, 1); !errors.Is(err, ErrCorrupt) {
			t.Errorf("%s: got %v, want ErrCorrupt", name, err)
		}
	}
}

// TestSigDeltaSize: on a delta of small changes (a tenth of the words
// with a third byte, as the bench's GRU), version 4 is smaller than
// version 3; with fewer than 1 in 32 the encoder writes exactly version
// 3; with 43% (larger changes) version 4 is at most 0.5% larger.
func TestSigDeltaSize(t *testing.T) {
	for _, c := range []struct {
		scale float64
		want  string // "smaller", "v3", "near"
	}{{1e-5, "smaller"}, {3e-5, "smaller"}, {1e-6, "v3"}, {1e-4, "near"}} {
		r := rand.New(rand.NewPCG(2, 3))
		const d = 200000
		base := heavyTailed(r, d, 0.05)
		x := append([]float32(nil), base...)
		for i := range x {
			if r.IntN(3) != 0 {
				x[i] += float32(r.NormFloat64() * c.scale)
			}
		}
		b4, _ := mustEncoder(t, Config{Codec: "float32", Zstd: true}).EncodeModel(x, 2, base, 1)
		b3, _ := mustEncoder(t, Config{Codec: "float32", Zstd: true, Version: 3}).EncodeModel(x, 2, base, 1)
		t.Logf("scale %g: version %d %d bytes, version 3 %d", c.scale, b4[5], len(b4), len(b3))
		switch c.want {
		case "smaller":
			if b4[5] != 4 || len(b4) >= len(b3) {
				t.Errorf("scale %g: version %d %d bytes, version 3 %d bytes", c.scale, b4[5], len(b4), len(b3))
			}
		case "v3":
			if !bytes.Equal(b4, b3) {
				t.Errorf("scale %g: version %d %d bytes, not version 3's %d", c.scale, b4[5], len(b4), len(b3))
			}
		case "near":
			if b4[5] != 4 || 1000*len(b4) > 1005*len(b3) {
				t.Errorf("scale %g: version %d %d bytes, version 3 %d bytes", c.scale, b4[5], len(b4), len(b3))
			}
		}
	}
}
