package main

import (
	"bytes"
	"encoding/json"
	"io"
	"strings"
	"testing"

	"github.com/murmur-fl/murmur/internal/sim"
	"github.com/murmur-fl/murmur/runtime/data"
)

func needData(t *testing.T) {
	t.Helper()
	if _, err := data.FashionMNISTDir(); err != nil {
		t.Skipf("Fashion-MNIST not installed (make test installs it): %v", err)
	}
}

// TestCentralLearns trains the MLP on 3,000 real images for one epoch and
// checks it is far above chance (10%) on 2,000 real test images.
func TestCentralLearns(t *testing.T) {
	needData(t)
	var out bytes.Buffer
	if code := sim.ExampleMain("fashion", []string{"-mode", "central", "-epochs", "1", "-limit", "3000", "-eval-limit", "2000", "-lr", "0.002", "-json"}, &out, io.Discard); code != 0 {
		t.Fatalf("exit %d", code)
	}
	var r sim.EpochResult
	if err := json.Unmarshal(out.Bytes(), &r); err != nil {
		t.Fatalf("-json output %q: %v", out.String(), err)
	}
	if r.Epoch != 1 || r.TestAccuracy < 0.65 || r.Seconds <= 0 || r.TestLoss <= 0 {
		t.Fatalf("epoch line %+v: want test accuracy >= 65%% after one epoch on 3k images", r)
	}
}

// TestFederatedLearns runs the example's federated mode small: 6 devices
// with Dirichlet(0.5) non-IID data, SecAgg+ on, 4 rounds.
func TestFederatedLearns(t *testing.T) {
	needData(t)
	var out bytes.Buffer
	args := []string{"-mode", "federated", "-devices", "6", "-per-round", "4", "-rounds", "4", "-local-steps", "10",
		"-limit", "3000", "-eval-limit", "1000", "-secagg", "-json"}
	if code := sim.ExampleMain("fashion", args, &out, io.Discard); code != 0 {
		t.Fatalf("exit %d", code)
	}
	var rounds []sim.RoundResult
	for _, l := range strings.Split(strings.TrimSpace(out.String()), "\n") {
		var r sim.RoundResult
		if err := json.Unmarshal([]byte(l), &r); err != nil {
			t.Fatalf("line %q: %v", l, err)
		}
		rounds = append(rounds, r)
	}
	if len(rounds) != 4 {
		t.Fatalf("%d rounds", len(rounds))
	}
	last := rounds[3]
	if !last.Committed || last.TestAccuracy < 0.45 || !(last.TestLoss < rounds[0].TestLoss) {
		t.Fatalf("did not learn: %+v", rounds)
	}
}

func TestBadMode(t *testing.T) {
	var errb bytes.Buffer
	if code := sim.ExampleMain("fashion", []string{"-mode", "sideways"}, io.Discard, &errb); code != 2 || !strings.Contains(errb.String(), "sideways") {
		t.Fatalf("code %d, stderr %q", code, errb.String())
	}
}
