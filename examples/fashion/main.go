// Command fashion trains on Fashion-MNIST, centrally (one model on all
// 60,000 training images) or federated (a relay and many wasm devices with
// non-IID data), and prints test accuracy per epoch or round.
//
//	go run ./examples/fashion -mode central -model mlp -epochs 5
//	go run ./examples/fashion -mode central -model cnn -epochs 3 -json
//	go run ./examples/fashion -mode federated -model cnn -devices 100 -per-round 15 -rounds 100 -partition dirichlet:0.5 -secagg -dropout 0.2
package main

import (
	"os"

	"github.com/murmur-fl/murmur/internal/sim"
)

func main() { os.Exit(sim.ExampleMain("fashion", os.Args[1:], os.Stdout, os.Stderr)) }
