package main

import (
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"os"
	"os/signal"
	"strings"

	"github.com/murmur-fl/murmur/internal/bench"
	"github.com/murmur-fl/murmur/internal/cli"
	// Benchmark suites register themselves.
	_ "github.com/murmur-fl/murmur/internal/bench/suites"
)

func benchCmd() *cli.Command {
	var asJSON, quick bool
	return &cli.Command{
		Name:    "bench",
		Summary: "run benchmark suites and print a table with ratios (or JSON lines)",
		Usage:   "murmur bench [suite ...] [--json] [--quick]",
		Examples: []string{
			"murmur bench train gemm      # training throughput and GEMM GFLOP/s, side by side",
			"murmur bench --json secagg   # one JSON object per line",
			"murmur bench --quick         # every suite, tiny sizes (a smoke run)",
		},
		Flags: func(fs *flag.FlagSet) {
			fs.BoolVar(&asJSON, "json", false, "print one JSON object per result line")
			fs.BoolVar(&quick, "quick", false, "small sizes and few repetitions")
		},
		Run: func(env *cli.Env, args []string) error {
			var run []bench.Suite
			if len(args) == 0 {
				run = bench.Suites()
			}
			for _, name := range args {
				s, ok := bench.Lookup(name)
				if !ok {
					var names []string
					for _, s := range bench.Suites() {
						names = append(names, s.Name)
					}
					return fmt.Errorf("%w: unknown suite %q (have: %s)", cli.ErrUsage, name, strings.Join(names, ", "))
				}
				run = append(run, s)
			}
			if len(run) == 0 {
				return fmt.Errorf("no benchmark suites are built in")
			}
			ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt)
			defer stop()
			var results []bench.Result
			enc := json.NewEncoder(env.Stdout)
			cfg := bench.Config{Quick: quick, Log: env.Stderr}
			for _, s := range run {
				fmt.Fprintf(env.Stderr, "bench: running %s ...\n", s.Name)
				err := s.Run(ctx, cfg, func(r bench.Result) {
					if asJSON {
						enc.Encode(r)
					} else {
						results = append(results, r)
					}
				})
				if err != nil {
					return fmt.Errorf("suite %s: %w", s.Name, err)
				}
			}
			if !asJSON {
				bench.WriteTable(env.Stdout, results)
			}
			return nil
		},
	}
}
