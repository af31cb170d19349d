package main

import (
	"encoding/json"
	"flag"
	"fmt"
	goruntime "runtime"
	"runtime/debug"

	"github.com/murmur-fl/murmur/internal/cli"
)

// version is set at link time (-ldflags "-X main.version=...").
var version = "dev"

func versionCmd() *cli.Command {
	var asJSON bool
	return &cli.Command{
		Name:     "version",
		Summary:  "print the murmur version, Go version and build revision",
		Usage:    "murmur version [--json]",
		Examples: []string{"murmur version", "murmur version --json"},
		Flags: func(fs *flag.FlagSet) {
			fs.BoolVar(&asJSON, "json", false, "print a JSON object")
		},
		Run: func(env *cli.Env, args []string) error {
			info := map[string]string{"version": version, "go": goruntime.Version(), "platform": goruntime.GOOS + "/" + goruntime.GOARCH}
			if bi, ok := debug.ReadBuildInfo(); ok {
				for _, s := range bi.Settings {
					if s.Key == "vcs.revision" {
						info["revision"] = s.Value
					}
				}
			}
			if asJSON {
				return json.NewEncoder(env.Stdout).Encode(info)
			}
			fmt.Fprintf(env.Stdout, "murmur %s (%s, %s", info["version"], info["go"], info["platform"])
			if r := info["revision"]; r != "" {
				fmt.Fprintf(env.Stdout, ", rev %.12s", r)
			}
			fmt.Fprintln(env.Stdout, ")")
			return nil
		},
	}
}
