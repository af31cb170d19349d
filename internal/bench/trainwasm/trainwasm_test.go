package trainwasm

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/murmur-fl/murmur/internal/bench"
)

// TestQuick runs the train suite with these variants linked and checks the
// wasm rows come out for every case (tfjs-wasm needs npm packages and
// covers the MLP only, so it is checked only when installed).
func TestQuick(t *testing.T) {
	rows, err := bench.RunQuick(context.Background(), "train")
	if err != nil {
		t.Fatal(err)
	}
	want := map[string]bool{}
	for _, c := range []string{"mlp-b32", "mlp-b128", "cnn-b64", "gru-b32"} {
		for _, v := range []string{"wasm", "wasm+go", "wasm+native"} {
			want["train/"+c+"/"+v] = true
		}
	}
	tfjs := 0
	for _, r := range rows {
		delete(want, r.Bench)
		if strings.HasSuffix(r.Bench, "/tfjs-wasm") {
			tfjs++
		}
	}
	if len(want) > 0 {
		t.Fatalf("missing rows %v", want)
	}
	if dir, err := TFJSDir(); err == nil {
		if _, err := os.Stat(filepath.Join(dir, "node_modules", "@tensorflow", "tfjs-backend-wasm")); err == nil && tfjs != 2 {
			t.Errorf("TensorFlow.js is installed in %s but %d tfjs-wasm rows came out (want 2, the MLP cases)", dir, tfjs)
		}
	}
}
