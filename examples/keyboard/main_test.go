package main

import (
	"bytes"
	"encoding/json"
	"io"
	"math"
	"strings"
	"testing"

	"github.com/murmur-fl/murmur/internal/sim"
	"github.com/murmur-fl/murmur/runtime/data"
)

func needData(t *testing.T) {
	t.Helper()
	if _, err := data.FortunesDir(); err != nil {
		t.Skipf("fortunes not installed (make test installs it): %v", err)
	}
}

// uniform is the loss of a model that knows nothing: ln(vocabulary).
var uniform = math.Log(2000)

// TestCentralLearns: one epoch on 600 real sequences must beat the uniform
// loss by a clear margin and rank the right next word in the top 3 far more
// often than chance (3/2000).
func TestCentralLearns(t *testing.T) {
	needData(t)
	var out bytes.Buffer
	if code := sim.ExampleMain("keyboard", []string{"-mode", "central", "-epochs", "1", "-limit", "600", "-eval-limit", "200", "-json"}, &out, io.Discard); code != 0 {
		t.Fatalf("exit %d", code)
	}
	var r sim.EpochResult
	if err := json.Unmarshal(out.Bytes(), &r); err != nil {
		t.Fatalf("output %q: %v", out.String(), err)
	}
	if !(float64(r.TestLoss) < uniform-1) || r.TestTop3 < 0.10 {
		t.Fatalf("epoch %+v: want loss < %.2f and top-3 >= 10%%", r, uniform-1)
	}
}

// TestFederatedLearns: devices split by source file (non-IID), 2 rounds.
func TestFederatedLearns(t *testing.T) {
	needData(t)
	var out bytes.Buffer
	args := []string{"-mode", "federated", "-devices", "4", "-per-round", "3", "-rounds", "2", "-local-steps", "6",
		"-batch", "16", "-limit", "600", "-eval-limit", "200", "-lr", "0.5", "-json"}
	if code := sim.ExampleMain("keyboard", args, &out, io.Discard); code != 0 {
		t.Fatalf("exit %d", code)
	}
	lines := strings.Split(strings.TrimSpace(out.String()), "\n")
	var first, last sim.RoundResult
	json.Unmarshal([]byte(lines[0]), &first)
	json.Unmarshal([]byte(lines[len(lines)-1]), &last)
	if len(lines) != 2 || !last.Committed || !(last.TestLoss < first.TestLoss) || !(last.TestLoss < uniform-1) || last.TestTop3 < 0.08 {
		t.Fatalf("did not learn: first %+v last %+v", first, last)
	}
}
