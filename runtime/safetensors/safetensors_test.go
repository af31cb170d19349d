package safetensors

import (
	"bytes"
	"encoding/binary"
	"errors"
	"math"
	"path/filepath"
	"slices"
	"strings"
	"testing"
)

// handFile is a safetensors file written out byte by byte: a scalar "a" =
// 0.5 and a vector "b" = [1, -2], with metadata format=pt.
var handFile = slices.Concat(
	[]byte{0x90, 0, 0, 0, 0, 0, 0, 0}, // header length 144
	[]byte(`{"__metadata__":{"format":"pt"},`+
		`"a":{"dtype":"F32","shape":[],"data_offsets":[0,4]},`+
		`"b":{"dtype":"F32","shape":[2],"data_offsets":[4,12]}}`+
		`      `), // 138 bytes of JSON + 6 spaces of padding
	[]byte{0x00, 0x00, 0x00, 0x3f}, // 0.5
	[]byte{0x00, 0x00, 0x80, 0x3f}, // 1
	[]byte{0x00, 0x00, 0x00, 0xc0}, // -2
)

func TestKnownAnswerWrite(t *testing.T) {
	// Given out of order: the output is sorted by name.
	got, err := Marshal([]Tensor{
		{Name: "b", Shape: []int{2}, Data: []float32{1, -2}},
		{Name: "a", Shape: []int{}, Data: []float32{0.5}},
	}, map[string]string{"format": "pt"})
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(got, handFile) {
		t.Errorf("Marshal =\n%q\nwant\n%q", got, handFile)
	}
}

func TestKnownAnswerRead(t *testing.T) {
	ts, meta, err := Read(handFile)
	if err != nil {
		t.Fatal(err)
	}
	if len(meta) != 1 || meta["format"] != "pt" {
		t.Errorf("metadata %v", meta)
	}
	if len(ts) != 2 || ts[0].Name != "a" || len(ts[0].Shape) != 0 || !slices.Equal(ts[0].Data, []float32{0.5}) ||
		ts[1].Name != "b" || !slices.Equal(ts[1].Shape, []int{2}) || !slices.Equal(ts[1].Data, []float32{1, -2}) {
		t.Errorf("tensors %+v", ts)
	}
}

// Vectors from the reference implementation's own tests (safetensors
// crate, tensor.rs: test_serialization, test_empty and
// test_serialization_forced_alignement).
func TestReferenceVectors(t *testing.T) {
	data := []float32{0, 1, 2, 3, 4, 5}
	cases := []struct {
		ts   []Tensor
		meta map[string]string
		want []byte
	}{
		{[]Tensor{{Name: "attn.0", Shape: []int{1, 2, 3}, Data: data}}, nil, []byte{
			64, 0, 0, 0, 0, 0, 0, 0, 123, 34, 97, 116, 116, 110, 46, 48, 34, 58, 123, 34, 100,
			116, 121, 112, 101, 34, 58, 34, 70, 51, 50, 34, 44, 34, 115, 104, 97, 112, 101, 34,
			58, 91, 49, 44, 50, 44, 51, 93, 44, 34, 100, 97, 116, 97, 95, 111, 102, 102, 115,
			101, 116, 115, 34, 58, 91, 48, 44, 50, 52, 93, 125, 125, 0, 0, 0, 0, 0, 0, 128, 63,
			0, 0, 0, 64, 0, 0, 64, 64, 0, 0, 128, 64, 0, 0, 160, 64}},
		{nil, nil, []byte{8, 0, 0, 0, 0, 0, 0, 0, 123, 125, 32, 32, 32, 32, 32, 32}},
		{nil, map[string]string{"framework": "pt"}, []byte{
			40, 0, 0, 0, 0, 0, 0, 0, 123, 34, 95, 95, 109, 101, 116, 97, 100, 97, 116, 97, 95,
			95, 34, 58, 123, 34, 102, 114, 97, 109, 101, 119, 111, 114, 107, 34, 58, 34, 112,
			116, 34, 125, 125, 32, 32, 32, 32, 32}},
		{[]Tensor{{Name: "attn0", Shape: []int{1, 1, 2, 3}, Data: data}}, nil, []byte{
			72, 0, 0, 0, 0, 0, 0, 0, 123, 34, 97, 116, 116, 110, 48, 34, 58, 123, 34, 100, 116,
			121, 112, 101, 34, 58, 34, 70, 51, 50, 34, 44, 34, 115, 104, 97, 112, 101, 34, 58,
			91, 49, 44, 49, 44, 50, 44, 51, 93, 44, 34, 100, 97, 116, 97, 95, 111, 102, 102,
			115, 101, 116, 115, 34, 58, 91, 48, 44, 50, 52, 93, 125, 125, 32, 32, 32, 32, 32,
			32, 32, 0, 0, 0, 0, 0, 0, 128, 63, 0, 0, 0, 64, 0, 0, 64, 64, 0, 0, 128, 64, 0, 0,
			160, 64}},
	}
	for i, c := range cases {
		got, err := Marshal(c.ts, c.meta)
		if err != nil {
			t.Fatal(err)
		}
		if !bytes.Equal(got, c.want) {
			t.Errorf("case %d: Marshal =\n%q\nwant\n%q", i, got, c.want)
		}
		ts, meta, err := Read(c.want)
		if err != nil {
			t.Fatalf("case %d: Read: %v", i, err)
		}
		if len(ts) != len(c.ts) || len(meta) != len(c.meta) {
			t.Errorf("case %d: read %d tensors, %d metadata", i, len(ts), len(meta))
		}
	}
}

// file assembles a safetensors file from a header and data bytes.
func file(header string, data []byte) []byte {
	b := binary.LittleEndian.AppendUint64(nil, uint64(len(header)))
	return append(append(b, header...), data...)
}

func TestReadHalfPrecision(t *testing.T) {
	f16 := []uint16{0x3c00, 0xc000, 0x7bff, 0x0001, 0x8400, 0x7c00, 0xfc00, 0x7e00, 0x0000, 0x8000}
	bf16 := []uint16{0x3f80, 0xc000, 0x4049, 0x7f80}
	var data []byte
	for _, v := range f16 {
		data = binary.LittleEndian.AppendUint16(data, v)
	}
	for _, v := range bf16 {
		data = binary.LittleEndian.AppendUint16(data, v)
	}
	b := file(`{"h":{"dtype":"F16","shape":[2,5],"data_offsets":[0,20]},"z":{"dtype":"BF16","shape":[4],"data_offsets":[20,28]}}`, data)
	ts, _, err := Read(b)
	if err != nil {
		t.Fatal(err)
	}
	wantH := []float32{1, -2, 65504, 1.0 / (1 << 24), -1.0 / (1 << 14), float32(math.Inf(1)), float32(math.Inf(-1))}
	for i, w := range wantH {
		if ts[0].Data[i] != w {
			t.Errorf("F16 %#04x = %g, want %g", f16[i], ts[0].Data[i], w)
		}
	}
	if !math.IsNaN(float64(ts[0].Data[7])) || ts[0].Data[8] != 0 || !math.Signbit(float64(ts[0].Data[9])) {
		t.Errorf("F16 NaN / zeros: %v", ts[0].Data[7:])
	}
	if !slices.Equal(ts[1].Data, []float32{1, -2, 3.140625, float32(math.Inf(1))}) {
		t.Errorf("BF16 = %v", ts[1].Data)
	}
	if !slices.Equal(ts[0].Shape, []int{2, 5}) {
		t.Errorf("shape %v", ts[0].Shape)
	}
}

// Every normal half-precision value converts exactly (checked against
// float64 arithmetic).
func TestF16Exhaustive(t *testing.T) {
	for h := range 1 << 16 {
		exp, mant := (h>>10)&0x1f, h&0x3ff
		if exp == 0x1f {
			continue
		}
		var want float64
		if exp == 0 {
			want = math.Ldexp(float64(mant), -24)
		} else {
			want = math.Ldexp(float64(mant|0x400), exp-25)
		}
		if h&0x8000 != 0 {
			want = -want
		}
		if got := F16ToFloat32(uint16(h)); float64(got) != want || math.Signbit(float64(got)) != (h&0x8000 != 0) {
			t.Fatalf("F16ToFloat32(%#04x) = %g, want %g", h, got, want)
		}
	}
}

func TestReadErrors(t *testing.T) {
	f4 := make([]byte, 4)
	hugeLen := binary.LittleEndian.AppendUint64(nil, 100_000_001)
	lying := binary.LittleEndian.AppendUint64(nil, 1000)
	cases := []struct {
		name string
		in   []byte
		want string
	}{
		{"short", []byte{1, 2, 3}, "shorter than the 8-byte"},
		{"header too large", append(hugeLen, "{}"...), "exceeds the 100000000-byte limit"},
		{"header longer than file", append(lying, "{}      "...), "header length 1000 is larger than the 8 bytes"},
		{"not json object", file(`[1,2]   `, nil), "does not start with '{'"},
		{"bad utf8", file("{\"\xff\":1}", nil), "not valid UTF-8"},
		{"broken json", file(`{"a":{"dtype":"F32"`, nil), "tensor \"a\""},
		{"trailing junk", file(`{} x`, nil), "after its JSON object"},
		{"duplicate", file(`{"a":{"dtype":"F32","shape":[1],"data_offsets":[0,4]},"a":{"dtype":"F32","shape":[1],"data_offsets":[4,8]}}`, make([]byte, 8)), `lists "a" twice`},
		{"unknown dtype", file(`{"a":{"dtype":"F31","shape":[1],"data_offsets":[0,4]}}`, f4), `unknown dtype "F31"`},
		{"unsupported dtype", file(`{"a":{"dtype":"I32","shape":[1],"data_offsets":[0,4]}}`, f4), "I32 is not supported"},
		{"missing shape", file(`{"a":{"dtype":"F32","data_offsets":[0,4]}}`, f4), `has no "shape"`},
		{"null shape", file(`{"a":{"dtype":"F32","shape":null,"data_offsets":[0,4]}}`, f4), "shape is null"},
		{"negative dim", file(`{"a":{"dtype":"F32","shape":[-1],"data_offsets":[0,4]}}`, f4), "bad shape"},
		{"float dim", file(`{"a":{"dtype":"F32","shape":[1.5],"data_offsets":[0,4]}}`, f4), "bad shape"},
		{"three offsets", file(`{"a":{"dtype":"F32","shape":[1],"data_offsets":[0,4,8]}}`, f4), "3 values, want 2"},
		{"offsets past end", file(`{"a":{"dtype":"F32","shape":[2],"data_offsets":[0,8]}}`, f4), "run past the 4 data bytes"},
		{"offsets reversed", file(`{"a":{"dtype":"F32","shape":[1],"data_offsets":[0,4]},"b":{"dtype":"F32","shape":[0],"data_offsets":[4,0]}}`, f4), "end before they begin"},
		{"gap", file(`{"a":{"dtype":"F32","shape":[1],"data_offsets":[4,8]}}`, make([]byte, 8)), "leave a gap after byte 0"},
		{"overlap", file(`{"a":{"dtype":"F32","shape":[2],"data_offsets":[0,8]},"b":{"dtype":"F32","shape":[1],"data_offsets":[4,8]}}`, make([]byte, 8)), `"b": data_offsets [4, 8] overlap`},
		{"not covering", file(`{"a":{"dtype":"F32","shape":[1],"data_offsets":[0,4]}}`, make([]byte, 8)), "cover 4 bytes but 8 data bytes"},
		{"shape mismatch", file(`{"a":{"dtype":"F32","shape":[3],"data_offsets":[0,8]}}`, make([]byte, 8)), "needs 3 elements x 4 bytes"},
		{"shape overflow", file(`{"a":{"dtype":"F32","shape":[2147483647,2147483647,2147483647],"data_offsets":[0,4]}}`, f4), "overflows"},
		{"huge dim", file(`{"a":{"dtype":"F32","shape":[99999999999],"data_offsets":[0,4]}}`, f4), "too large"},
		{"metadata not strings", file(`{"__metadata__":{"a":1}}`, nil), "must map strings to strings"},
	}
	for _, c := range cases {
		_, _, err := Read(c.in)
		if err == nil {
			t.Errorf("%s: no error", c.name)
			continue
		}
		if !errors.Is(err, ErrFormat) || !strings.Contains(err.Error(), c.want) {
			t.Errorf("%s: error %q, want ErrFormat containing %q", c.name, err, c.want)
		}
	}
}

func TestWriteErrors(t *testing.T) {
	cases := []struct {
		name string
		ts   []Tensor
		want string
	}{
		{"duplicate", []Tensor{{Name: "w", Shape: []int{1}, Data: []float32{1}}, {Name: "w", Shape: []int{1}, Data: []float32{2}}}, `two tensors are named "w"`},
		{"shape mismatch", []Tensor{{Name: "w", Shape: []int{2, 2}, Data: []float32{1}}}, "4 values) but 1 values"},
		{"negative dim", []Tensor{{Name: "w", Shape: []int{-1}, Data: nil}}, "invalid shape"},
		{"reserved name", []Tensor{{Name: "__metadata__", Shape: []int{0}}}, "may not be named"},
		{"bad utf8", []Tensor{{Name: "\xff", Shape: []int{0}}}, "not valid UTF-8"},
	}
	for _, c := range cases {
		if _, err := Marshal(c.ts, nil); err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("%s: error %v, want one containing %q", c.name, err, c.want)
		}
	}
}

func TestRoundTrip(t *testing.T) {
	params := make([]float32, 784*128+128+128*10+10)
	for i := range params {
		params[i] = float32(math.Sin(float64(i))) * 0.1
	}
	// Tensors alias one flat parameter vector, as the training core keeps them.
	ts := []Tensor{
		{Name: "dense0.weight", Shape: []int{784, 128}, Data: params[:784*128]},
		{Name: "dense0.bias", Shape: []int{128}, Data: params[784*128 : 784*128+128]},
		{Name: "dense1.weight", Shape: []int{128, 10}, Data: params[784*128+128 : 784*128+128+1280]},
		{Name: "dense1.bias", Shape: []int{10}, Data: params[784*128+128+1280:]},
		{Name: "empty", Shape: []int{0, 3}, Data: nil},
		{Name: "odd \"name\"\n\x01é", Shape: []int{}, Data: []float32{float32(math.NaN())}},
	}
	meta := map[string]string{"z": "last", "a": "first", "spec": `{"layers":[]}`}
	path := filepath.Join(t.TempDir(), "m.safetensors")
	if err := WriteFile(path, ts, meta); err != nil {
		t.Fatal(err)
	}
	got, gotMeta, err := ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	if len(gotMeta) != 3 || gotMeta["spec"] != meta["spec"] {
		t.Errorf("metadata %v", gotMeta)
	}
	byName := map[string]Tensor{}
	for _, g := range got {
		byName[g.Name] = g
	}
	for _, w := range ts {
		g, ok := byName[w.Name]
		if !ok {
			t.Fatalf("tensor %q missing", w.Name)
		}
		if !slices.Equal(g.Shape, w.Shape) || len(g.Data) != len(w.Data) {
			t.Fatalf("%q: shape %v len %d", w.Name, g.Shape, len(g.Data))
		}
		for i := range w.Data {
			if math.Float32bits(g.Data[i]) != math.Float32bits(w.Data[i]) {
				t.Fatalf("%q[%d] = %v, want %v", w.Name, i, g.Data[i], w.Data[i])
			}
		}
	}
	// Deterministic: the same input gives the same bytes, whatever the order.
	a, _ := Marshal(ts, meta)
	slices.Reverse(ts)
	b, _ := Marshal(ts, meta)
	if !bytes.Equal(a, b) {
		t.Error("output depends on input order")
	}
	if hl := binary.LittleEndian.Uint64(a); hl%8 != 0 {
		t.Errorf("header length %d not a multiple of 8", hl)
	}
}

func BenchmarkWrite(b *testing.B) {
	ts := []Tensor{{Name: "w", Shape: []int{1024, 1024}, Data: make([]float32, 1<<20)}}
	b.SetBytes(4 << 20)
	b.ReportAllocs()
	for b.Loop() {
		if err := Write(discard{}, ts, nil); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkRead(b *testing.B) {
	f, _ := Marshal([]Tensor{{Name: "w", Shape: []int{1024, 1024}, Data: make([]float32, 1<<20)}}, nil)
	b.SetBytes(int64(len(f)))
	b.ReportAllocs()
	for b.Loop() {
		if _, _, err := Read(f); err != nil {
			b.Fatal(err)
		}
	}
}

type discard struct{}

func (discard) Write(p []byte) (int, error) { return len(p), nil }
