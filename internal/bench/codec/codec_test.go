package codec

import (
	"context"
	"fmt"
	"os"
	"strings"
	"testing"

	"github.com/murmur-fl/murmur/internal/bench"
)

func TestQuickRun(t *testing.T) {
	rs, err := bench.RunQuick(context.Background(), "codec")
	if err != nil {
		t.Fatal(err)
	}
	if len(rs) < 30 {
		t.Fatalf("only %d rows", len(rs))
	}
	seen := map[string]bool{}
	for _, r := range rs {
		if !strings.HasPrefix(r.Bench, "codec/cnn.") || !(r.Value > 0) {
			t.Errorf("bad row %+v", r)
		}
		seen[r.Bench] = true
	}
	for _, want := range []string{"codec/cnn.topk1%-q4/ratio", "codec/cnn.secure-b8-sub10%/encode", "codec/cnn.dl-delta-int8-zstd/decode",
		"codec/cnn.qsgd4/rel_err", "codec/cnn.secure-b8-rot/rel_err", "codec/cnn.secure-b8/add"} {
		if !seen[want] {
			t.Errorf("missing row %s", want)
		}
	}
	if seen["codec/cnn.float32/rel_err"] {
		t.Error("a lossless codec has a rel_err row (its error is 0, in the ratio row)")
	}
}

// TestWasmChild is the wasm side of the suite's wasm rows (see wasm.go);
// it only runs when the parent sets envWasmChild.
func TestWasmChild(t *testing.T) {
	if os.Getenv(envWasmChild) == "" {
		t.Skip("run by the suite's wasm rows")
	}
	if err := wasmChild(context.Background(), func(s string) { fmt.Println(s) }); err != nil {
		t.Fatal(err)
	}
}

// The parent turns the child's encode and decode rows into -wasm variants
// and ignores everything else.
func TestReemit(t *testing.T) {
	out := []byte("=== RUN TestWasmChild\n" +
		rowPrefix + `{"bench":"codec/cnn.qsgd4/encode","value":12.5,"unit":"MB/s","runs":5}` + "\n" +
		rowPrefix + `{"bench":"codec/cnn.qsgd4/ratio","value":11.9,"unit":"x"}` + "\n--- PASS\n")
	var got []bench.Result
	n, err := reemit(out, func(r bench.Result) { got = append(got, r) })
	if err != nil || n != 1 || len(got) != 1 {
		t.Fatalf("reemit: %d rows, %v: %+v", n, err, got)
	}
	if r := got[0]; r.Bench != "codec/cnn.qsgd4/encode-wasm" || r.Value != 12.5 || r.Unit != "MB/s" || r.Extra["runtime"] != "wazero" || r.Extra["runs"] != 5.0 {
		t.Fatalf("reemit row %+v", r)
	}
	if _, err := reemit([]byte(rowPrefix+"{bad"), func(bench.Result) {}); err == nil {
		t.Fatal("a malformed row was accepted")
	}
}
