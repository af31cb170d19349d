//go:build !wasm

package kernels_test

import (
	"bufio"
	"bytes"
	"context"
	"os"
	"os/exec"
	"path/filepath"
	goruntime "runtime"
	"strconv"
	"strings"
	"testing"

	"github.com/murmur-fl/murmur/internal/wasmrun"
	"github.com/murmur-fl/murmur/runtime/kernels"
	"github.com/murmur-fl/murmur/runtime/kernels/kerneltest"
)

// goldenDigest is kerneltest.Digest(kernels.Portable{}): the Portable
// backend must produce exactly these bits on every GOOS/GOARCH.
func goldenDigest(t testing.TB) string {
	b, err := os.ReadFile("testdata/portable.digest")
	if err != nil {
		t.Fatal(err)
	}
	return strings.TrimSpace(string(b))
}

func TestPortableDigestNative(t *testing.T) {
	got := kerneltest.Digest(kernels.Portable{})
	if want := goldenDigest(t); got != want {
		t.Fatalf("Portable digest on %s/%s = %s, want %s (testdata/portable.digest): results are not bit-identical across platforms",
			goruntime.GOOS, goruntime.GOARCH, got, want)
	}
}

// TestPortableDigestWasm compiles testdata/wasmgemm for wasip1, runs it in
// wazero and checks the in-guest Portable backend gives the same bits.
func TestPortableDigestWasm(t *testing.T) {
	if testing.Short() {
		t.Skip("builds a wasm binary; skipped in -short mode")
	}
	out := runWasm(t, buildWasm(t))
	for _, line := range strings.Split(out, "\n") {
		if d, ok := strings.CutPrefix(line, "digest "); ok {
			if want := goldenDigest(t); d != want {
				t.Fatalf("wasip1 Portable digest = %s, want %s", d, want)
			}
			return
		}
	}
	t.Fatalf("no digest line in guest output:\n%s", out)
}

// BenchmarkWasmPortable reports the in-guest Portable GEMM speed under
// wazero (the figure for the wasm core without host offload). On Linux the
// guest's clock is this thread's CPU time, so the figure is GFLOP per
// CPU-second, steady on a shared machine.
func BenchmarkWasmPortable(b *testing.B) {
	wasm := buildWasm(b)
	for _, n := range []string{"128", "256"} {
		b.Run(n, func(b *testing.B) {
			var gf float64
			for b.Loop() {
				out := runWasmClock(b, wasm, threadCPUClock(), "-bench", n, "-runs", "5")
				sc := bufio.NewScanner(strings.NewReader(out))
				for sc.Scan() {
					f := strings.Fields(sc.Text())
					if len(f) == 3 && f[0] == "gflops" {
						gf, _ = strconv.ParseFloat(f[2], 64)
					}
				}
			}
			if gf <= 0 {
				b.Fatal("no gflops line from the guest")
			}
			b.ReportMetric(gf, "GFLOP/s")
		})
	}
}

func buildWasm(t testing.TB) string {
	t.Helper()
	goBin := filepath.Join(goruntime.GOROOT(), "bin", "go")
	out := filepath.Join(t.TempDir(), "wasmgemm.wasm")
	cmd := exec.Command(goBin, "build", "-o", out, "./testdata/wasmgemm")
	cmd.Env = append(os.Environ(), "GOOS=wasip1", "GOARCH=wasm")
	if msg, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("building testdata/wasmgemm for wasip1: %v\n%s", err, msg)
	}
	return out
}

func runWasm(t testing.TB, path string, args ...string) string {
	t.Helper()
	return runWasmClock(t, path, nil, args...)
}

// runWasmClock runs the guest with clock as its monotonic clock (nil: the
// host's real one).
func runWasmClock(t testing.TB, path string, clock func() int64, args ...string) string {
	t.Helper()
	if clock != nil {
		// A thread CPU clock only makes sense if the guest stays on one thread
		// (wazero runs it on the calling goroutine).
		goruntime.LockOSThread()
		defer goruntime.UnlockOSThread()
	}
	bin, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	var stdout, stderr bytes.Buffer
	code, err := wasmrun.Run(context.Background(), bin, wasmrun.Options{Args: args, Stdout: &stdout, Stderr: &stderr, Nanotime: clock})
	if err != nil || code != 0 {
		t.Fatalf("running wasmgemm: exit %d, %v\nstderr: %s", code, err, stderr.String())
	}
	return stdout.String()
}

// TestPortableDigestJS runs testdata/wasmgemm as GOOS=js under Node (the
// browser build of the core uses the same kernels).
func TestPortableDigestJS(t *testing.T) {
	if testing.Short() {
		t.Skip("builds a js/wasm binary; skipped in -short mode")
	}
	node, err := exec.LookPath("node")
	if err != nil {
		t.Skip("node not found on PATH: cannot run the GOOS=js build (install nodejs to run this check)")
	}
	goBin := filepath.Join(goruntime.GOROOT(), "bin", "go")
	wasm := filepath.Join(t.TempDir(), "wasmgemm.wasm")
	cmd := exec.Command(goBin, "build", "-o", wasm, "./testdata/wasmgemm")
	cmd.Env = append(os.Environ(), "GOOS=js", "GOARCH=wasm")
	if msg, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("building testdata/wasmgemm for js/wasm: %v\n%s", err, msg)
	}
	run := exec.Command(node, filepath.Join(goruntime.GOROOT(), "lib", "wasm", "wasm_exec_node.js"), wasm)
	out, err := run.CombinedOutput()
	if err != nil {
		t.Fatalf("node wasm_exec_node.js: %v\n%s", err, out)
	}
	d, ok := strings.CutPrefix(strings.SplitN(string(out), "\n", 2)[0], "digest ")
	if !ok {
		t.Fatalf("no digest line in output:\n%s", out)
	}
	if want := goldenDigest(t); d != want {
		t.Fatalf("js/wasm Portable digest = %s, want %s", d, want)
	}
}
