package codec

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"time"

	"github.com/murmur-fl/murmur/internal/bench"
)

// Wasm rows: the suite's own cases, compiled into this package's test
// binary for wasip1 and run under wazero by internal/wasmrun (the
// test helper the secagg suite uses too, so wazero stays out of this
// package). The child (TestWasmChild, selected by envWasmChild) measures
// encode and decode on both models and prints each row as a JSON line
// after rowPrefix; the parent re-emits them as the encode-wasm and
// decode-wasm variants. It needs the Go toolchain and the source tree (the
// working directory or MURMUR_SRC).

const (
	envWasmChild = "MURMUR_CODEC_WASM_CHILD"
	rowPrefix    = "codec-row "
)

func wasmRows(ctx context.Context, cfg bench.Config, emit func(bench.Result)) error {
	src := os.Getenv("MURMUR_SRC")
	if src == "" {
		src = "."
	}
	if _, err := os.Stat(filepath.Join(src, "internal", "bench", "codec", "wasm.go")); err != nil {
		return fmt.Errorf("murmur source tree not found at %q (set MURMUR_SRC)", src)
	}
	goBin, err := exec.LookPath("go")
	if err != nil {
		return fmt.Errorf("no go toolchain on PATH")
	}
	tmp, err := os.MkdirTemp("", "codec-wasm")
	if err != nil {
		return err
	}
	defer os.RemoveAll(tmp)
	wasm, runner := filepath.Join(tmp, "codec.wasm"), filepath.Join(tmp, "wasmrun")
	fmt.Fprintln(cfg.Log, "codec: building the wasip1 test binary and the wazero runner")
	build := exec.CommandContext(ctx, goBin, "test", "-c", "-o", wasm, "./internal/bench/codec")
	build.Dir, build.Env = src, append(os.Environ(), "GOOS=wasip1", "GOARCH=wasm")
	if b, err := build.CombinedOutput(); err != nil {
		return fmt.Errorf("building the wasm test binary: %v\n%s", err, b)
	}
	build = exec.CommandContext(ctx, goBin, "build", "-o", runner, "./internal/wasmrun/cmd")
	build.Dir = src
	if b, err := build.CombinedOutput(); err != nil {
		return fmt.Errorf("building wasmrun: %v\n%s", err, b)
	}
	fmt.Fprintln(cfg.Log, "codec: running the cases in wazero")
	cmd := exec.CommandContext(ctx, runner, "-dir", tmp, wasm, "-test.run", "^TestWasmChild$", "-test.v")
	cmd.Env = append(os.Environ(), envWasmChild+"=1")
	out, err := cmd.CombinedOutput()
	if err != nil {
		return fmt.Errorf("running under wazero: %v\n%s", err, tail(out))
	}
	n, err := reemit(out, emit)
	if err == nil && n == 0 {
		err = fmt.Errorf("the wasm child printed no rows:\n%s", tail(out))
	}
	return err
}

// reemit parses the child's rows and emits its encode and decode rows as
// the -wasm variants (ratios and errors are the same bytes as native).
func reemit(out []byte, emit func(bench.Result)) (int, error) {
	n := 0
	sc := bufio.NewScanner(bytes.NewReader(out))
	sc.Buffer(make([]byte, 64<<10), 1<<20)
	for sc.Scan() {
		line, ok := strings.CutPrefix(strings.TrimSpace(sc.Text()), rowPrefix)
		if !ok {
			continue
		}
		var m map[string]any
		if err := json.Unmarshal([]byte(line), &m); err != nil {
			return n, fmt.Errorf("wasm child row %q: %v", line, err)
		}
		name, _ := m["bench"].(string)
		v, _ := m["value"].(float64)
		unit, _ := m["unit"].(string)
		if !strings.HasSuffix(name, "/encode") && !strings.HasSuffix(name, "/decode") {
			continue
		}
		delete(m, "bench")
		delete(m, "value")
		delete(m, "unit")
		m["runtime"] = "wazero"
		emit(bench.Result{Bench: name + "-wasm", Value: v, Unit: unit, Extra: m})
		n++
	}
	return n, sc.Err()
}

// wasmChild is the child's side: both models, fewer runs (wasm is slower),
// each row printed as a JSON line.
func wasmChild(ctx context.Context, print func(string)) error {
	emit := func(r bench.Result) {
		b, err := json.Marshal(r)
		if err == nil {
			print(rowPrefix + string(b))
		}
	}
	return measure(ctx, bench.Config{Log: discard{}}, emit, []string{"cnn", "gru"}, 5, 32, 5, time.Second)
}

type discard struct{}

func (discard) Write(p []byte) (int, error) { return len(p), nil }

func tail(b []byte) []byte {
	if len(b) > 4000 {
		return b[len(b)-4000:]
	}
	return b
}
