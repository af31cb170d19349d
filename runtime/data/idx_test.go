package data

import (
	"bytes"
	"compress/gzip"
	"encoding/binary"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// makeIDX builds an unsigned-byte IDX file with the given dims and payload.
func makeIDX(dims []int, payload []byte) []byte {
	var b bytes.Buffer
	b.Write([]byte{0, 0, 0x08, byte(len(dims))})
	for _, d := range dims {
		binary.Write(&b, binary.BigEndian, uint32(d))
	}
	b.Write(payload)
	return b.Bytes()
}

func gz(t testing.TB, b []byte) []byte {
	t.Helper()
	var out bytes.Buffer
	w := gzip.NewWriter(&out)
	if _, err := w.Write(b); err != nil {
		t.Fatal(err)
	}
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}
	return out.Bytes()
}

func TestReadIDXPlainAndGzip(t *testing.T) {
	payload := []byte{0, 1, 2, 3, 4, 5, 250, 251, 252, 253, 254, 255}
	raw := makeIDX([]int{2, 2, 3}, payload)
	for name, in := range map[string][]byte{"plain": raw, "gzip": gz(t, raw)} {
		got, err := ReadIDX(bytes.NewReader(in), name)
		if err != nil {
			t.Fatalf("%s: %v", name, err)
		}
		if len(got.Dims) != 3 || got.Dims[0] != 2 || got.Dims[1] != 2 || got.Dims[2] != 3 {
			t.Errorf("%s: dims %v", name, got.Dims)
		}
		if !bytes.Equal(got.Data, payload) {
			t.Errorf("%s: data %v", name, got.Data)
		}
	}
}

func TestReadIDXErrors(t *testing.T) {
	ok := makeIDX([]int{3}, []byte{1, 2, 3})
	huge := makeIDX([]int{60000, 28, 28}, []byte{1, 2, 3})
	cases := []struct {
		name, in, want string
	}{
		{"empty", "", "reading magic"},
		{"short magic", "\x00\x00", "reading magic"},
		{"not idx", "PK\x03\x04rest", "two zero bytes"},
		{"float type", "\x00\x00\x0d\x01\x00\x00\x00\x01abcd", "float32"},
		{"unknown type", "\x00\x00\x42\x01", "unknown element type"},
		{"zero dims", "\x00\x00\x08\x00", "0 dimensions"},
		{"too many dims", "\x00\x00\x08\x09", "9 dimensions"},
		{"short dims", "\x00\x00\x08\x02\x00\x00\x00\x01\x00", "dimension sizes"},
		{"over cap", "\x00\x00\x08\x03\xff\xff\xff\xff\xff\xff\xff\xff\xff\xff\xff\xff", "limit"},
		{"truncated", string(ok[:len(ok)-1]), "truncated: got only 2"},
		{"lying header", string(huge), "promise 47040000 data bytes: truncated: got only 3"},
		{"trailing", string(ok) + "x", "trailing data"},
		{"bad gzip", "\x1f\x8bxx", "gzip"},
	}
	for _, c := range cases {
		_, err := ReadIDX(strings.NewReader(c.in), "f.idx")
		if err == nil {
			t.Errorf("%s: no error", c.name)
			continue
		}
		if !errors.Is(err, ErrIDX) || !strings.Contains(err.Error(), "f.idx") || !strings.Contains(err.Error(), c.want) {
			t.Errorf("%s: error %q, want ErrIDX naming f.idx and containing %q", c.name, err, c.want)
		}
	}
	// A truncated gzip stream is an error too, not a short success.
	g := gz(t, ok)
	if _, err := ReadIDX(bytes.NewReader(g[:len(g)-6]), "g.gz"); err == nil {
		t.Error("truncated gzip: no error")
	}
}

// A header claiming the 1 GiB maximum with no data behind it must fail
// without allocating anything like 1 GiB.
func TestReadIDXLyingHeaderAllocatesLittle(t *testing.T) {
	in := makeIDX([]int{1 << 10, 1 << 10, 1 << 10}, make([]byte, 100))
	var before, after runtimeMem
	before.read()
	for range 3 {
		if _, err := ReadIDX(bytes.NewReader(in), "x"); err == nil {
			t.Fatal("no error for a 1 GiB header over 100 bytes")
		}
	}
	after.read()
	if d := after.total - before.total; d > 16<<20 {
		t.Errorf("lying header made the reader allocate %d bytes", d)
	}
}

func writeFile(t *testing.T, path string, b []byte) {
	t.Helper()
	if err := os.WriteFile(path, b, 0o644); err != nil {
		t.Fatal(err)
	}
}

func TestReadIDXFileNamesPath(t *testing.T) {
	p := filepath.Join(t.TempDir(), "bad-idx1-ubyte")
	writeFile(t, p, []byte{0, 0, 8, 1, 0, 0, 0, 9, 1})
	_, err := ReadIDXFile(p)
	if err == nil || !strings.Contains(err.Error(), p) {
		t.Fatalf("error %v does not name %s", err, p)
	}
}
