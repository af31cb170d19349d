// Command murmur is the murmur CLI: run a federation on one machine
// (simulate), serve devices (relay), join as a device (device), measure
// (bench) and report versions (version).
package main

import (
	"os"

	"github.com/murmur-fl/murmur/internal/cli"
)

func commands() []*cli.Command {
	return []*cli.Command{benchCmd(), deviceCmd(), relayCmd(), simulateCmd(), versionCmd()}
}

func main() {
	os.Exit(cli.Main(cli.OSEnv(), commands(), os.Args[1:]))
}
