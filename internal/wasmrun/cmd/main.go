// Command wasmrun runs a GOOS=wasip1 program under wazero with the host's
// environment, stdout and stderr (see package internal/wasmrun), and exits
// with the guest's exit code. Benchmarks build it and run test binaries in
// it as a separate process:
//
//	wasmrun [-dir D] prog.wasm [args...]
package main

import (
	"context"
	"flag"
	"fmt"
	"os"

	"github.com/murmur-fl/murmur/internal/wasmrun"
)

func main() {
	dir := flag.String("dir", ".", "host directory mounted as the guest's / (its working directory)")
	flag.Parse()
	if flag.NArg() < 1 {
		fmt.Fprintln(os.Stderr, "usage: wasmrun [-dir D] prog.wasm [args...]")
		os.Exit(2)
	}
	bin, err := os.ReadFile(flag.Arg(0))
	if err != nil {
		fmt.Fprintln(os.Stderr, "wasmrun:", err)
		os.Exit(2)
	}
	code, err := wasmrun.Run(context.Background(), bin, wasmrun.Options{
		Args: flag.Args()[1:], Env: os.Environ(), Dir: *dir, Stdout: os.Stdout, Stderr: os.Stderr,
	})
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
	}
	os.Exit(code)
}
