package wasmcore

import (
	"context"
	"testing"

	"github.com/murmur-fl/murmur/internal/bench"
)

func TestQuick(t *testing.T) {
	rows, err := bench.RunQuick(context.Background(), "wasm")
	if err != nil {
		t.Fatal(err)
	}
	want := map[string]bool{"wasm/compile/wazero": true, "wasm/instantiate/wazero": true, "wasm/instance-memory/mlp": true, "wasm/host-call/core-import": true, "wasm/host-call/minimal": true}
	for _, r := range rows {
		delete(want, r.Bench)
	}
	if len(want) > 0 {
		t.Fatalf("missing rows %v in %+v", want, rows)
	}
}
