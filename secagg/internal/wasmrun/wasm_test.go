package main

import (
	"os"
	"os/exec"
	"path/filepath"
	"testing"
)

// TestUnderWazero builds the secagg and secagg/encode test binaries for
// wasip1 and runs their known-answer tests under wazero: the encoding and
// the protocol give the same bytes in wasm as natively.
func TestUnderWazero(t *testing.T) {
	if os.Getenv("MURMUR_SOAK") != "1" {
		t.Skip("builds two wasm test binaries (a minute on a busy machine); set MURMUR_SOAK=1 to run")
	}
	goBin, err := exec.LookPath("go")
	if err != nil {
		t.Skip("no go toolchain on PATH: cannot build the wasm test binaries")
	}
	tmp := t.TempDir()
	for _, c := range []struct{ pkg, run string }{
		{"secagg/encode", "TestDeterministicDigest|TestPackRoundTrip|TestSumWithinBound"},
		{"secagg", "TestKnownAnswers|TestNoDropout"},
	} {
		wasm := filepath.Join(tmp, filepath.Base(c.pkg)+".wasm")
		b := exec.Command(goBin, "test", "-c", "-o", wasm, "./"+c.pkg)
		b.Dir = "../../.."
		b.Env = append(os.Environ(), "GOOS=wasip1", "GOARCH=wasm")
		if out, err := b.CombinedOutput(); err != nil {
			t.Fatalf("building %s for wasip1: %v\n%s", c.pkg, err, out)
		}
		if code := run(filepath.Join("../../..", c.pkg), wasm, []string{"-test.run", c.run}); code != 0 {
			t.Fatalf("%s under wazero exited %d", c.pkg, code)
		}
	}
}
