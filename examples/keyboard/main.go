// Command keyboard trains next-word prediction (the mobile-keyboard use
// case) on the fortunes corpus, one text file per group of devices (a
// natural non-IID split), centrally or federated, and reports top-1 and
// top-3 next-word accuracy on held-out text.
//
//	go run ./examples/keyboard -mode central -epochs 3
//	go run ./examples/keyboard -mode federated -devices 43 -per-round 10 -rounds 50
package main

import (
	"os"

	"github.com/murmur-fl/murmur/internal/sim"
)

func main() { os.Exit(sim.ExampleMain("keyboard", os.Args[1:], os.Stdout, os.Stderr)) }
