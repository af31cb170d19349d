// Command wasmrun runs a GOOS=wasip1 program (typically a test binary made
// with `GOOS=wasip1 GOARCH=wasm go test -c`) under wazero, so secagg's code
// can be tested and measured as the browser-like wasm build. It is a test
// helper: product code reaches wazero only through host/wasmcore.
//
//	wasmrun [-dir D] prog.wasm [args...]
//
// The guest sees D (default ".") as its working directory and gets the
// host's stdout and stderr; wasmrun exits with the guest's exit code.
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"os"

	"github.com/tetratelabs/wazero"
	"github.com/tetratelabs/wazero/imports/wasi_snapshot_preview1"
	"github.com/tetratelabs/wazero/sys"
)

func main() {
	dir := flag.String("dir", ".", "host directory mounted as the guest's /")
	flag.Parse()
	if flag.NArg() < 1 {
		fmt.Fprintln(os.Stderr, "usage: wasmrun [-dir D] prog.wasm [args...]")
		os.Exit(2)
	}
	os.Exit(run(*dir, flag.Arg(0), flag.Args()[1:]))
}

func run(dir, path string, args []string) int {
	ctx := context.Background()
	bin, err := os.ReadFile(path)
	if err != nil {
		fmt.Fprintln(os.Stderr, "wasmrun:", err)
		return 2
	}
	rt := wazero.NewRuntimeWithConfig(ctx, wazero.NewRuntimeConfigCompiler())
	defer rt.Close(ctx)
	wasi_snapshot_preview1.MustInstantiate(ctx, rt)
	cfg := wazero.NewModuleConfig().
		WithArgs(append([]string{path}, args...)...).
		WithStdout(os.Stdout).WithStderr(os.Stderr).
		WithFSConfig(wazero.NewFSConfig().WithDirMount(dir, "/")).
		WithSysWalltime().WithSysNanotime().WithSysNanosleep().
		WithRandSource(randReader{})
	for _, kv := range os.Environ() {
		for i := 0; i < len(kv); i++ {
			if kv[i] == '=' {
				if kv[:i] != "PWD" {
					cfg = cfg.WithEnv(kv[:i], kv[i+1:])
				}
				break
			}
		}
	}
	// The guest's working directory is the mounted root.
	cfg = cfg.WithEnv("PWD", "/")
	_, err = rt.InstantiateWithConfig(ctx, bin, cfg)
	var exit *sys.ExitError
	if errors.As(err, &exit) {
		return int(exit.ExitCode())
	}
	if err != nil {
		fmt.Fprintln(os.Stderr, "wasmrun:", err)
		return 1
	}
	return 0
}
