package wasmrun

import (
	"bytes"
	"context"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
)

// TestUnderWazero builds the secagg and secagg/encode test binaries for
// wasip1 and runs their known-answer tests under wazero: the encoding and
// the protocol give the same bytes in wasm as natively.
func TestUnderWazero(t *testing.T) {
	if os.Getenv("MURMUR_SOAK") != "1" {
		t.Skip("builds two wasm test binaries (a minute on a busy machine); set MURMUR_SOAK=1 to run")
	}
	tmp := t.TempDir()
	for _, c := range []struct{ pkg, run string }{
		{"secagg/encode", "TestDeterministicDigest|TestPackRoundTrip|TestSumWithinBound"},
		{"secagg", "TestKnownAnswers|TestNoDropout"},
	} {
		wasm := buildTest(t, c.pkg, tmp)
		var out bytes.Buffer
		code, err := Run(context.Background(), wasm, Options{Args: []string{"-test.run", c.run}, Dir: filepath.Join("../..", c.pkg), Stdout: &out, Stderr: &out})
		if err != nil || code != 0 {
			t.Fatalf("%s under wazero: exit %d, %v\n%s", c.pkg, code, err, out.String())
		}
	}
}

// TestExitCodeAndArgs: the guest gets its arguments, and its exit code and
// output come back.
func TestExitCodeAndArgs(t *testing.T) {
	if testing.Short() {
		t.Skip("builds a wasm binary; skipped in -short mode")
	}
	dir := t.TempDir()
	src := filepath.Join(dir, "main.go")
	os.WriteFile(src, []byte("package main\nimport (\"fmt\"; \"os\")\nfunc main() { fmt.Println(os.Args[1:]); os.Exit(len(os.Args)) }\n"), 0o644)
	bin := filepath.Join(dir, "p.wasm")
	cmd := exec.Command("go", "build", "-o", bin, src)
	cmd.Env = append(os.Environ(), "GOOS=wasip1", "GOARCH=wasm")
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("build: %v\n%s", err, out)
	}
	wasm, err := os.ReadFile(bin)
	if err != nil {
		t.Fatal(err)
	}
	var out bytes.Buffer
	code, err := Run(context.Background(), wasm, Options{Args: []string{"a", "b"}, Stdout: &out})
	if err != nil || code != 3 || strings.TrimSpace(out.String()) != "[a b]" {
		t.Fatalf("exit %d, err %v, output %q; want 3, nil, [a b]", code, err, out.String())
	}
}

func buildTest(t *testing.T, pkg, tmp string) []byte {
	t.Helper()
	out := filepath.Join(tmp, filepath.Base(pkg)+".wasm")
	b := exec.Command("go", "test", "-c", "-o", out, "./"+pkg)
	b.Dir = "../.."
	b.Env = append(os.Environ(), "GOOS=wasip1", "GOARCH=wasm")
	if msg, err := b.CombinedOutput(); err != nil {
		t.Fatalf("building %s for wasip1: %v\n%s", pkg, err, msg)
	}
	wasm, err := os.ReadFile(out)
	if err != nil {
		t.Fatal(err)
	}
	return wasm
}
