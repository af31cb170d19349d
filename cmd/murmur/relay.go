package main

import (
	"context"
	"flag"
	"fmt"
	"os"
	"os/signal"
	"path/filepath"
	"syscall"
	"time"

	"github.com/murmur-fl/murmur/internal/cli"
	"github.com/murmur-fl/murmur/internal/corebuild"
	"github.com/murmur-fl/murmur/internal/sim"
	"github.com/murmur-fl/murmur/sync/relay"
)

func relayCmd() *cli.Command {
	var o sim.Options
	var lr, prox float64
	var deadline time.Duration
	var dataDir, secret, corePath string
	var issue int
	var require string
	return &cli.Command{
		Name:    "relay",
		Summary: "serve devices: run rounds, aggregate, persist, and show a dashboard",
		Usage:   "murmur relay --addr HOST:PORT --data DIR --secret S [flags]",
		Examples: []string{
			"murmur relay --addr 127.0.0.1:8080 --data ./relay-state --secret $RELAY_SECRET --issue 3",
			"murmur relay --example fashion --model cnn --per-round 20 --secagg --data /var/lib/murmur",
			"MURMUR_SECRET=s3cret murmur relay --addr :8080 --data ./state   # then open http://localhost:8080/",
		},
		Flags: func(fs *flag.FlagSet) {
			roundFlags(fs, &o, &lr, &prox, &deadline)
			rounds := fs.Lookup("rounds")
			rounds.Usage, rounds.DefValue = "rounds to run (0 = until stopped)", "0"
			rounds.Value.Set("0")
			fs.StringVar(&o.Addr, "addr", "127.0.0.1:8080", "address to listen on (WebSockets at /ws, dashboard at /)")
			fs.StringVar(&dataDir, "data", "murmur-relay", "state folder: the bbolt store (committed models, rounds, upload offsets) lives here")
			fs.StringVar(&secret, "secret", "", "secret for device tokens (HMAC); required")
			fs.IntVar(&issue, "issue", 0, "print tokens for device-1..device-N at start")
			fs.StringVar(&require, "require", "", "select only devices reporting these conditions, e.g. charging,unmetered")
			fs.BoolVar(&o.Heterogeneous, "scale-steps", false, "scale each device's local steps by its reported speed class")
			fs.StringVar(&corePath, "core", "", "training core module to serve (default: $MURMUR_CORE, else built from source)")
		},
		Run: func(env *cli.Env, args []string) error {
			if len(args) > 0 {
				return fmt.Errorf("%w: unexpected arguments %q", cli.ErrUsage, args)
			}
			if secret == "" {
				return fmt.Errorf("%w: --secret (or MURMUR_SECRET) is required: devices authenticate with tokens derived from it", cli.ErrUsage)
			}
			var err error
			if o.Require, err = sim.ParseFlags(require); err != nil {
				return fmt.Errorf("%w: --require: %v", cli.ErrUsage, err)
			}
			ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
			defer stop()
			var core []byte
			if corePath != "" {
				core, err = os.ReadFile(corePath)
			} else {
				core, err = corebuild.Load(ctx)
			}
			if err != nil {
				return err
			}
			if err := os.MkdirAll(dataDir, 0o755); err != nil {
				return err
			}
			o.LR, o.ProxMu, o.Deadline = float32(lr), float32(prox), deadline
			o.Log = env.Stderr
			tokens := relay.HMACTokens{Secret: []byte(secret)}
			srv, err := sim.StartServer(ctx, sim.ServerOptions{Options: o, StorePath: filepath.Join(dataDir, "relay.db"), Auth: tokens,
				Core: core, Forever: o.Rounds == 0})
			if err != nil {
				return err
			}
			defer srv.Close()
			fmt.Fprintf(env.Stderr, "relay: serving at %s (dashboard %s/, devices %s, state %s)\n", srv.URL, srv.URL, srv.WSURL, dataDir)
			for i := 1; i <= issue; i++ {
				id := fmt.Sprintf("device-%d", i)
				fmt.Fprintf(env.Stdout, "%s %s\n", id, tokens.Issue(id))
			}
			for {
				select {
				case <-ctx.Done():
					fmt.Fprintln(env.Stderr, "relay: shutting down")
					return nil
				case r := <-srv.Results:
					fmt.Fprintf(env.Stderr, "relay: round %d: %s\n", r.Round, roundLine(r))
				}
			}
		},
	}
}
