package main

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"testing"

	"github.com/murmur-fl/murmur/runtime/data"
)

func fashionDir(t *testing.T) string {
	t.Helper()
	dir, err := data.FashionMNISTDir()
	if err != nil {
		t.Skipf("Fashion-MNIST not installed (make test installs it): %v", err)
	}
	return dir
}

// TestCentralLearns trains the MLP on 3,000 real images for one epoch and
// checks it is far above chance (10%) on the real 10,000-image test set.
func TestCentralLearns(t *testing.T) {
	var out bytes.Buffer
	res, err := Central(context.Background(), Options{Model: "mlp", Epochs: 1, Batch: 32, LR: 0.002, Seed: 1,
		DataDir: fashionDir(t), Limit: 3000, JSON: true}, &out, io.Discard)
	if err != nil {
		t.Fatal(err)
	}
	if len(res) != 1 || res[0].TestAccuracy < 0.65 {
		t.Fatalf("results %+v: want test accuracy >= 65%% after one epoch on 3k images", res)
	}
	var line map[string]any
	if err := json.Unmarshal(out.Bytes(), &line); err != nil {
		t.Fatalf("-json output %q: %v", out.String(), err)
	}
	for _, k := range []string{"epoch", "test_accuracy", "test_loss", "seconds"} {
		if _, ok := line[k]; !ok {
			t.Errorf("JSON line lacks %q: %s", k, out.String())
		}
	}
}

func TestCentralMissingData(t *testing.T) {
	_, err := Central(context.Background(), Options{Model: "mlp", Epochs: 1, Batch: 32, DataDir: t.TempDir()}, io.Discard, io.Discard)
	if err == nil {
		t.Fatal("no error for an empty data folder")
	}
}
