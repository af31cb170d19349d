package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"os"
	"os/signal"
	"syscall"

	"github.com/murmur-fl/murmur/host/agent"
	"github.com/murmur-fl/murmur/internal/cli"
	"github.com/murmur-fl/murmur/internal/progress"
	"github.com/murmur-fl/murmur/internal/sim"
	"github.com/murmur-fl/murmur/sync/client"
	"github.com/murmur-fl/murmur/sync/relay"
)

func deviceCmd() *cli.Command {
	var o sim.Options
	var url, token, id, secret, stateDir string
	var shard, of int
	var flags string
	return &cli.Command{
		Name:    "device",
		Summary: "join a relay as one native device (the wasm core in wazero) with local data",
		Usage:   "murmur device --url ws://HOST:PORT/ws --id ID (--token T | --secret S) [flags]",
		Examples: []string{
			"murmur device --url ws://127.0.0.1:8080/ws --id device-1 --token device-1.XXXX --shard 1 --of 10",
			"MURMUR_SECRET=s3cret murmur device --url ws://127.0.0.1:8080/ws --id device-2 --shard 2 --of 10 --state ./dev2",
			"murmur device --example keyboard --partition source --shard 5 --of 43 --id kb-5 --secret s3cret",
		},
		Flags: func(fs *flag.FlagSet) {
			fs.StringVar(&url, "url", "ws://127.0.0.1:8080/ws", "the relay's WebSocket URL")
			fs.StringVar(&id, "id", "device-1", "this device's id (the token must be issued for it)")
			fs.StringVar(&token, "token", "", "bearer token (from `murmur relay --issue N`)")
			fs.StringVar(&secret, "secret", "", "derive the token from the relay's secret instead (for trusted test set-ups)")
			fs.StringVar(&stateDir, "state", "", "folder for session, partial transfers and training checkpoints (resume after restarts); default: memory")
			fs.StringVar(&o.Example, "example", "fashion", "the local data: fashion or keyboard")
			fs.StringVar(&o.DataDir, "dataset", "", "data set folder (default $MURMUR_FASHION_DIR / $MURMUR_FORTUNES_DIR, then Debian's)")
			fs.StringVar(&o.Partition, "partition", "", "how the data set is split over devices: iid, dirichlet:<alpha>, source")
			fs.IntVar(&shard, "shard", 1, "which part of the data set this device holds (1-based)")
			fs.IntVar(&of, "of", 10, "into how many parts the data set is split")
			fs.Uint64Var(&o.Seed, "seed", 1, "seed of the split and of local training")
			fs.StringVar(&flags, "flags", "charging,unmetered,idle", "conditions this device reports (a relay may --require them): charging, unmetered, idle")
			fs.StringVar(&o.Accel, "accel", "exact", "host accelerator for the core's GEMM: exact (bit-identical to in-guest), native (FMA), go (empty: in-guest kernels)")
		},
		Run: func(env *cli.Env, args []string) error {
			if len(args) > 0 {
				return fmt.Errorf("%w: unexpected arguments %q", cli.ErrUsage, args)
			}
			if token == "" && secret != "" {
				token = relay.HMACTokens{Secret: []byte(secret)}.Issue(id)
			}
			if token == "" {
				return fmt.Errorf("%w: give --token or --secret", cli.ErrUsage)
			}
			capFlags, err := sim.ParseFlags(flags)
			if err != nil {
				return fmt.Errorf("%w: --flags: %v", cli.ErrUsage, err)
			}
			ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
			defer stop()
			d, err := sim.DeviceShard(o, shard, of)
			if err != nil {
				return err
			}
			state := client.MemStorage()
			if stateDir != "" {
				if state, err = client.DirStorage(stateDir); err != nil {
					return err
				}
			}
			fmt.Fprintf(env.Stderr, "device %s: %d local examples (shard %d of %d), joining %s\n", id, d.N, shard, of, url)
			var bar *progress.Bar
			err = sim.RunDevice(ctx, sim.DeviceOptions{URL: url, Token: token, ID: id, Data: d, State: state, Accel: o.Accel, Seed: o.Seed, Flags: capFlags,
				OnEvent: func(e agent.Event) {
					switch e.Phase {
					case "train":
						if bar == nil {
							bar = progress.New(env.Stderr, fmt.Sprintf("round %d", e.Round), int64(e.Of))
						}
						bar.Set(int64(e.Steps))
						bar.Suffix(fmt.Sprintf("loss %.3f", e.Loss))
					case "done", "dropped":
						if bar != nil {
							bar.Finish()
							bar = nil
						}
						if e.Err != nil {
							fmt.Fprintf(env.Stderr, "device %s: round %d: %v\n", id, e.Round, e.Err)
						} else {
							fmt.Fprintf(env.Stderr, "device %s: round %d done, local loss %.4f\n", id, e.Round, e.Loss)
						}
					}
				}})
			if errors.Is(err, context.Canceled) {
				return nil
			}
			return err
		},
	}
}
