// Package trainwasm adds the wasm-core and TensorFlow.js variants to the
// `train` bench suite, so they are measured side by side with native:
//
//	wasm         the core in wazero with its in-guest kernels
//	wasm+go      the core offloading GEMM to the host's pure-Go backend
//	wasm+native  the core offloading GEMM to host/accel's native backend
//	tfjs-wasm    TensorFlow.js 4.22 on its wasm-SIMD backend under Node
//	             (MLP cases only; needs `npm ci` in internal/bench/tfjs)
package trainwasm

import (
	"bufio"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"

	"github.com/murmur-fl/murmur/host/accel"
	"github.com/murmur-fl/murmur/host/agent"
	"github.com/murmur-fl/murmur/host/wasmcore"
	"github.com/murmur-fl/murmur/internal/bench/train"
	"github.com/murmur-fl/murmur/internal/corebuild"
	"github.com/murmur-fl/murmur/runtime/kernels"
	"github.com/murmur-fl/murmur/runtime/nn"
)

func init() {
	train.AddVariant(train.Variant{Name: "wasm", New: func(c train.Case) (func(int) error, func(), error) { return newWasm(c, "") }})
	train.AddVariant(train.Variant{Name: "wasm+go", New: func(c train.Case) (func(int) error, func(), error) { return newWasm(c, "go") }})
	train.AddVariant(train.Variant{Name: "wasm+native", New: func(c train.Case) (func(int) error, func(), error) { return newWasm(c, "native") }})
	train.AddVariant(train.Variant{Name: "wasm+native-1t", New: func(c train.Case) (func(int) error, func(), error) { return newWasm(c, "native-1t") }})
	train.AddVariant(train.Variant{Name: "tfjs-wasm", New: newTFJS})
}

var (
	enginesMu sync.Mutex
	engines   = map[string]*wasmcore.Engine{}
)

// engine returns the process-wide engine for an accelerator ("" = none):
// compile once, instantiate per case.
func engine(accelName string) (*wasmcore.Engine, error) {
	enginesMu.Lock()
	defer enginesMu.Unlock()
	if e := engines[accelName]; e != nil {
		return e, nil
	}
	wasm, err := corebuild.Load(context.Background())
	if err != nil {
		return nil, err
	}
	var b kernels.Backend
	switch accelName {
	case "":
	case "native-1t": // the native kernel on one goroutine
		b = accel.Native{Threads: 1}
	default:
		var ok bool
		if b, ok = accel.Lookup(accelName); !ok {
			return nil, fmt.Errorf("no accelerator %q", accelName)
		}
	}
	e, err := wasmcore.NewEngine(context.Background(), wasm, &wasmcore.Config{Accel: b, CacheDir: filepath.Join(os.TempDir(), "murmur-bench-wazero")})
	if err != nil {
		return nil, err
	}
	engines[accelName] = e
	return e, nil
}

func newWasm(c train.Case, accelName string) (func(int) error, func(), error) {
	ctx := context.Background()
	e, err := engine(accelName)
	if err != nil {
		return nil, nil, err
	}
	spec, err := train.SpecFor(c)
	if err != nil {
		return nil, nil, err
	}
	m, err := nn.Build(spec, train.Seed)
	if err != nil {
		return nil, nil, err
	}
	core, err := e.NewCore(ctx)
	if err != nil {
		return nil, nil, err
	}
	fail := func(err error) (func(int) error, func(), error) { core.Close(ctx); return nil, nil, err }
	if accelName != "" {
		if err := core.UseAccel(ctx, true); err != nil {
			return fail(err)
		}
	}
	if err := core.Load(ctx, spec.JSON(), train.Seed); err != nil {
		return fail(err)
	}
	// The same synthetic examples as the native variant, as one data set
	// the core batches itself.
	var d agent.Dataset
	d.X, d.Tokens, d.Labels, d.N = train.Dataset(m, c)
	if err := core.SetData(ctx, 0, d); err != nil {
		return fail(err)
	}
	opt, _ := json.Marshal(train.Optimizer)
	if err := core.BeginRound(ctx, m.Params(), opt); err != nil {
		return fail(err)
	}
	run := func(steps int) error {
		_, err := core.Train(ctx, steps, c.Batch, 1)
		return err
	}
	return run, func() { core.Close(ctx) }, nil
}

// TFJSDir is where the TensorFlow.js anchor lives (package.json, mlp.js).
func TFJSDir() (string, error) {
	if d := os.Getenv("MURMUR_TFJS_DIR"); d != "" {
		return d, nil
	}
	dir, err := os.Getwd()
	if err != nil {
		return "", err
	}
	for {
		p := filepath.Join(dir, "internal", "bench", "tfjs")
		if _, err := os.Stat(filepath.Join(p, "mlp.js")); err == nil {
			return p, nil
		}
		parent := filepath.Dir(dir)
		if parent == dir {
			return "", errors.New("internal/bench/tfjs not found: run from the murmur source tree or set MURMUR_TFJS_DIR")
		}
		dir = parent
	}
}

// newTFJS starts mlp.js in serve mode: one line "step" in, one line "ok"
// out per training step, so the same loop measures it as the other
// variants (the pipe costs microseconds against milliseconds per step).
func newTFJS(c train.Case) (func(int) error, func(), error) {
	if c.Model != "mlp" {
		return nil, nil, fmt.Errorf("the TensorFlow.js anchor covers the MLP only")
	}
	dir, err := TFJSDir()
	if err != nil {
		return nil, nil, err
	}
	if _, err := os.Stat(filepath.Join(dir, "node_modules", "@tensorflow", "tfjs-backend-wasm")); err != nil {
		return nil, nil, fmt.Errorf("TensorFlow.js not installed: run `npm ci` in %s (make bench does)", dir)
	}
	node, err := exec.LookPath("node")
	if err != nil {
		return nil, nil, fmt.Errorf("node not found: %w", err)
	}
	cmd := exec.Command(node, "mlp.js", "--serve", strconv.Itoa(c.Batch))
	cmd.Dir = dir
	cmd.Stderr = os.Stderr
	in, err := cmd.StdinPipe()
	if err != nil {
		return nil, nil, err
	}
	outPipe, err := cmd.StdoutPipe()
	if err != nil {
		return nil, nil, err
	}
	if err := cmd.Start(); err != nil {
		return nil, nil, err
	}
	out := bufio.NewReader(outPipe)
	done := func() { in.Close(); cmd.Wait() }
	if line, err := out.ReadString('\n'); err != nil || !strings.HasPrefix(line, "ready") {
		done()
		return nil, nil, fmt.Errorf("mlp.js did not start: %q %v", line, err)
	}
	run := func(steps int) error {
		for range steps {
			if _, err := io.WriteString(in, "step\n"); err != nil {
				return err
			}
			line, err := out.ReadString('\n')
			if err != nil {
				return fmt.Errorf("mlp.js: %w", err)
			}
			if strings.TrimSpace(line) != "ok" {
				return fmt.Errorf("mlp.js: %q", line)
			}
		}
		return nil
	}
	return run, done, nil
}
