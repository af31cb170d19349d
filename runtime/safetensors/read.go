package safetensors

import (
	"bytes"
	"cmp"
	"encoding/binary"
	"encoding/json"
	"fmt"
	"io"
	"math"
	"math/bits"
	"os"
	"slices"
	"unicode/utf8"
)

// dtypeSize gives the element size of every dtype the format defines, so
// that a known-but-unsupported dtype gets a precise error.
var dtypeSize = map[string]uint64{
	"BOOL": 1, "U8": 1, "I8": 1, "F8_E5M2": 1, "F8_E4M3": 1,
	"I16": 2, "U16": 2, "F16": 2, "BF16": 2,
	"I32": 4, "U32": 4, "F32": 4,
	"F64": 8, "I64": 8, "U64": 8,
}

type entry struct {
	name       string
	dtype      string
	shape      []int
	begin, end uint64
	n          uint64
}

// Read decodes a safetensors file held in b. Tensors come back in file
// order (which is name order for files this package writes), converted to
// float32; metadata is nil when the file has none.
func Read(b []byte) ([]Tensor, map[string]string, error) {
	if len(b) < 8 {
		return nil, nil, fmt.Errorf("%w: file is %d bytes, shorter than the 8-byte header length", ErrFormat, len(b))
	}
	n := binary.LittleEndian.Uint64(b)
	if n > MaxHeaderSize {
		return nil, nil, fmt.Errorf("%w: header length %d exceeds the %d-byte limit", ErrFormat, n, MaxHeaderSize)
	}
	if n > uint64(len(b)-8) {
		return nil, nil, fmt.Errorf("%w: header length %d is larger than the %d bytes that follow it", ErrFormat, n, len(b)-8)
	}
	hdr, data := b[8:8+n], b[8+n:]
	entries, meta, err := parseHeader(hdr)
	if err != nil {
		return nil, nil, err
	}
	slices.SortFunc(entries, func(x, y entry) int {
		if c := cmp.Compare(x.begin, y.begin); c != 0 {
			return c
		}
		if c := cmp.Compare(x.end, y.end); c != 0 {
			return c
		}
		return cmp.Compare(x.name, y.name)
	})
	pos := uint64(0)
	for i := range entries {
		e := &entries[i]
		if e.begin != pos || e.end < e.begin {
			what := "overlap the previous tensor"
			switch {
			case e.end < e.begin:
				what = "end before they begin"
			case e.begin > pos:
				what = fmt.Sprintf("leave a gap after byte %d", pos)
			}
			return nil, nil, fmt.Errorf("%w: tensor %q: data_offsets [%d, %d] %s", ErrFormat, e.name, e.begin, e.end, what)
		}
		if e.end > uint64(len(data)) {
			return nil, nil, fmt.Errorf("%w: tensor %q: data_offsets [%d, %d] run past the %d data bytes in the file", ErrFormat, e.name, e.begin, e.end, len(data))
		}
		size := dtypeSize[e.dtype]
		if hi, lo := bits.Mul64(e.n, size); hi != 0 || lo != e.end-e.begin {
			return nil, nil, fmt.Errorf("%w: tensor %q: shape %v of %s needs %d elements x %d bytes, but data_offsets [%d, %d] hold %d bytes",
				ErrFormat, e.name, e.shape, e.dtype, e.n, size, e.begin, e.end, e.end-e.begin)
		}
		pos = e.end
	}
	if pos != uint64(len(data)) {
		return nil, nil, fmt.Errorf("%w: tensors cover %d bytes but %d data bytes follow the header", ErrFormat, pos, len(data))
	}
	out := make([]Tensor, len(entries))
	for i, e := range entries {
		raw := data[e.begin:e.end]
		vals := make([]float32, e.n)
		switch e.dtype {
		case "F32":
			for j := range vals {
				vals[j] = math.Float32frombits(binary.LittleEndian.Uint32(raw[4*j:]))
			}
		case "F16":
			for j := range vals {
				vals[j] = F16ToFloat32(binary.LittleEndian.Uint16(raw[2*j:]))
			}
		case "BF16":
			for j := range vals {
				vals[j] = math.Float32frombits(uint32(binary.LittleEndian.Uint16(raw[2*j:])) << 16)
			}
		}
		out[i] = Tensor{Name: e.name, Shape: e.shape, Data: vals}
	}
	return out, meta, nil
}

// ReadFile reads a safetensors file from disk.
func ReadFile(path string) ([]Tensor, map[string]string, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return nil, nil, err
	}
	t, m, err := Read(b)
	if err != nil {
		return nil, nil, fmt.Errorf("%s: %w", path, err)
	}
	return t, m, nil
}

// parseHeader walks the top-level JSON object token by token so duplicate
// names are caught (encoding/json would keep the last silently).
func parseHeader(hdr []byte) ([]entry, map[string]string, error) {
	if !utf8.Valid(hdr) {
		return nil, nil, fmt.Errorf("%w: header is not valid UTF-8", ErrFormat)
	}
	if len(hdr) == 0 || hdr[0] != '{' {
		return nil, nil, fmt.Errorf("%w: header does not start with '{'", ErrFormat)
	}
	dec := json.NewDecoder(bytes.NewReader(hdr))
	if _, err := dec.Token(); err != nil {
		return nil, nil, fmt.Errorf("%w: header JSON: %v", ErrFormat, err)
	}
	var entries []entry
	var meta map[string]string
	seen := map[string]bool{}
	for dec.More() {
		tok, err := dec.Token()
		if err != nil {
			return nil, nil, fmt.Errorf("%w: header JSON: %v", ErrFormat, err)
		}
		name, ok := tok.(string)
		if !ok {
			return nil, nil, fmt.Errorf("%w: header JSON: unexpected %v", ErrFormat, tok)
		}
		if seen[name] {
			return nil, nil, fmt.Errorf("%w: header lists %q twice", ErrFormat, name)
		}
		seen[name] = true
		if name == metadataKey {
			if err := dec.Decode(&meta); err != nil {
				return nil, nil, fmt.Errorf("%w: %s must map strings to strings: %v", ErrFormat, metadataKey, err)
			}
			continue
		}
		e, err := decodeEntry(dec, name)
		if err != nil {
			return nil, nil, err
		}
		entries = append(entries, e)
	}
	if _, err := dec.Token(); err != nil {
		return nil, nil, fmt.Errorf("%w: header JSON: %v", ErrFormat, err)
	}
	if tok, err := dec.Token(); err != io.EOF {
		return nil, nil, fmt.Errorf("%w: header has data after its JSON object (%v %v)", ErrFormat, tok, err)
	}
	return entries, meta, nil
}

func decodeEntry(dec *json.Decoder, name string) (entry, error) {
	var fields map[string]json.RawMessage
	if err := dec.Decode(&fields); err != nil {
		return entry{}, fmt.Errorf("%w: tensor %q: %v", ErrFormat, name, err)
	}
	e := entry{name: name}
	var shape []uint64
	var offs []uint64
	for _, f := range []struct {
		key string
		dst any
	}{{"dtype", &e.dtype}, {"shape", &shape}, {"data_offsets", &offs}} {
		raw, ok := fields[f.key]
		if !ok {
			return entry{}, fmt.Errorf("%w: tensor %q has no %q", ErrFormat, name, f.key)
		}
		if err := json.Unmarshal(raw, f.dst); err != nil {
			return entry{}, fmt.Errorf("%w: tensor %q: bad %s %s: %v", ErrFormat, name, f.key, raw, err)
		}
	}
	if shape == nil && string(fields["shape"]) == "null" {
		return entry{}, fmt.Errorf("%w: tensor %q: shape is null", ErrFormat, name)
	}
	_, known := dtypeSize[e.dtype]
	switch {
	case !known:
		return entry{}, fmt.Errorf("%w: tensor %q: unknown dtype %q", ErrFormat, name, e.dtype)
	case e.dtype != "F32" && e.dtype != "F16" && e.dtype != "BF16":
		return entry{}, fmt.Errorf("%w: tensor %q: dtype %s is not supported (want F32, F16 or BF16)", ErrFormat, name, e.dtype)
	}
	if len(offs) != 2 {
		return entry{}, fmt.Errorf("%w: tensor %q: data_offsets has %d values, want 2", ErrFormat, name, len(offs))
	}
	e.begin, e.end = offs[0], offs[1]
	e.n = 1
	e.shape = make([]int, len(shape))
	for i, d := range shape {
		if d > math.MaxInt32 {
			return entry{}, fmt.Errorf("%w: tensor %q: dimension %d is too large", ErrFormat, name, d)
		}
		e.shape[i] = int(d)
		hi, lo := bits.Mul64(e.n, d)
		if hi != 0 || lo > 1<<62 {
			return entry{}, fmt.Errorf("%w: tensor %q: shape %v overflows", ErrFormat, name, shape)
		}
		e.n = lo
	}
	return e, nil
}

// F16ToFloat32 converts an IEEE 754 half-precision value, exactly
// (subnormals, infinities and NaN payloads included).
func F16ToFloat32(h uint16) float32 {
	sign := uint32(h>>15) << 31
	exp := uint32(h>>10) & 0x1f
	mant := uint32(h & 0x3ff)
	switch exp {
	case 0:
		v := float32(mant) * (1.0 / (1 << 24)) // subnormal or zero, exact
		return math.Float32frombits(sign | math.Float32bits(v))
	case 0x1f:
		return math.Float32frombits(sign | 0x7f800000 | mant<<13)
	}
	return math.Float32frombits(sign | (exp+112)<<23 | mant<<13)
}
