// Package wasmrun runs GOOS=wasip1 programs (typically test binaries made
// with `GOOS=wasip1 GOARCH=wasm go test -c`) under wazero, so tests and
// benchmarks can check and measure code as the wasm build runs it. It is a
// test and benchmark helper: product code reaches wazero only through
// host/wasmcore. internal/wasmrun/cmd wraps it as a command.
package wasmrun

import (
	"context"
	"crypto/rand"
	"errors"
	"fmt"
	"io"

	"github.com/tetratelabs/wazero"
	"github.com/tetratelabs/wazero/imports/wasi_snapshot_preview1"
	"github.com/tetratelabs/wazero/sys"
)

// Options configure one run. The zero value runs with no arguments, no
// environment, no files and discarded output.
type Options struct {
	// Args are the program's arguments after its name.
	Args []string
	// Env are "KEY=value" pairs the guest sees.
	Env []string
	// Dir, if set, is the host directory mounted as the guest's / (and its
	// working directory).
	Dir string
	// Stdout and Stderr receive the guest's output (nil: discarded).
	Stdout, Stderr io.Writer
	// Nanotime, if set, is the guest's monotonic clock in nanoseconds (for
	// example this thread's CPU time, for steady timings on a shared
	// machine); otherwise the host's clock.
	Nanotime func() int64
}

// Run runs the program and returns its exit code; err is set when it could
// not run or trapped.
func Run(ctx context.Context, wasm []byte, o Options) (int, error) {
	rt := wazero.NewRuntime(ctx)
	defer rt.Close(ctx)
	wasi_snapshot_preview1.MustInstantiate(ctx, rt)
	cfg := wazero.NewModuleConfig().
		WithArgs(append([]string{"prog"}, o.Args...)...).
		WithSysWalltime().WithSysNanosleep().
		WithRandSource(rand.Reader) // wazero's default is a fixed, insecure stream
	if o.Stdout != nil {
		cfg = cfg.WithStdout(o.Stdout)
	}
	if o.Stderr != nil {
		cfg = cfg.WithStderr(o.Stderr)
	}
	if o.Nanotime != nil {
		cfg = cfg.WithNanotime(o.Nanotime, 1)
	} else {
		cfg = cfg.WithSysNanotime() // wazero's default is a fake clock
	}
	if o.Dir != "" {
		cfg = cfg.WithFSConfig(wazero.NewFSConfig().WithDirMount(o.Dir, "/")).WithEnv("PWD", "/")
	}
	for _, kv := range o.Env {
		for i := 0; i < len(kv); i++ {
			if kv[i] == '=' {
				if kv[:i] != "PWD" {
					cfg = cfg.WithEnv(kv[:i], kv[i+1:])
				}
				break
			}
		}
	}
	_, err := rt.InstantiateWithConfig(ctx, wasm, cfg)
	var exit *sys.ExitError
	if errors.As(err, &exit) {
		return int(exit.ExitCode()), nil
	}
	if err != nil {
		return 1, fmt.Errorf("wasmrun: %w", err)
	}
	return 0, nil
}
