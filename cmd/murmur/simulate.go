package main

import (
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"log/slog"
	"os"
	"os/signal"
	"syscall"
	"time"

	"github.com/murmur-fl/murmur/internal/cli"
	"github.com/murmur-fl/murmur/internal/progress"
	"github.com/murmur-fl/murmur/internal/sim"
)

func simulateCmd() *cli.Command {
	var o sim.Options
	var asJSON, verbose bool
	var lr float64
	var prox float64
	var deadline time.Duration
	return &cli.Command{
		Name:    "simulate",
		Summary: "run a whole federation on this machine: a relay and many wasm devices over loopback WebSockets",
		Usage:   "murmur simulate [flags]",
		Examples: []string{
			"murmur simulate --example fashion --devices 20 --per-round 10 --rounds 10",
			"murmur simulate --example fashion --model cnn --devices 100 --per-round 15 --rounds 100 --partition dirichlet:0.5 --dropout 0.2",
			"murmur simulate --example keyboard --partition source --rounds 30 --json",
			"murmur simulate --codec topk --flaky 0.05   # compressed uploads over links that cut and resume",
		},
		Flags: func(fs *flag.FlagSet) {
			roundFlags(fs, &o, &lr, &prox, &deadline)
			fs.IntVar(&o.Devices, "devices", 20, "simulated devices")
			fs.Float64Var(&o.Dropout, "dropout", 0, "probability a device drops out mid-round")
			fs.Float64Var(&o.Flaky, "flaky", 0, "probability per second that a device's link is cut (it resumes)")
			fs.StringVar(&o.Partition, "partition", "", "iid, dirichlet:<alpha> or source (default dirichlet:0.5 / source)")
			fs.BoolVar(&o.Heterogeneous, "heterogeneous", false, "devices of three speed classes; local steps scale with speed (pair with --prox-mu)")
			fs.StringVar(&o.Trainer, "trainer", "wasm", "wasm (the core in wazero) or native")
			fs.StringVar(&o.Accel, "accel", "exact", "host accelerator for the wasm core's GEMM: exact (vectorized, bit-identical to in-guest), native (FMA, fastest), go (empty: in-guest kernels)")
			fs.IntVar(&o.Limit, "limit", 0, "use only the first N training examples (0 = all)")
			fs.StringVar(&o.Addr, "addr", "127.0.0.1:0", "address for the relay and its dashboard")
			fs.BoolVar(&asJSON, "json", false, "print one JSON line per round, then a summary line")
			fs.BoolVar(&verbose, "verbose", false, "log what the relay and the devices do (structured, to stderr)")
		},
		Run: func(env *cli.Env, args []string) error {
			if len(args) > 0 {
				return fmt.Errorf("%w: unexpected arguments %q", cli.ErrUsage, args)
			}
			o.LR, o.ProxMu, o.Deadline = float32(lr), float32(prox), deadline
			ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
			defer stop()
			o.Log = env.Stderr
			if verbose {
				o.Logger = slog.New(slog.NewTextHandler(env.Stderr, &slog.HandlerOptions{Level: slog.LevelDebug}))
			}
			bar := progress.New(env.Stderr, "rounds", int64(o.Rounds))
			o.OnListen = func(url string) { fmt.Fprintf(env.Stderr, "simulate: dashboard at %s/\n", url) }
			enc := json.NewEncoder(env.Stdout)
			o.OnRound = func(r sim.RoundResult) {
				if asJSON {
					enc.Encode(r)
				} else if !progress.IsTerminal(env.Stderr) {
					fmt.Fprintf(env.Stdout, "round %d: %s\n", r.Round, roundLine(r))
				}
				bar.Add(1)
				bar.Suffix(roundLine(r))
			}
			sum, err := sim.Run(ctx, o)
			bar.Finish()
			if err != nil {
				return err
			}
			if asJSON {
				return enc.Encode(map[string]any{"summary": sum})
			}
			printSummary(env, sum)
			return nil
		},
	}
}

// roundFlags declares the flags that shape rounds, shared by simulate and relay.
func roundFlags(fs *flag.FlagSet, o *sim.Options, lr, prox *float64, deadline *time.Duration) {
	fs.StringVar(&o.Example, "example", "fashion", "data set and task: fashion or keyboard")
	fs.StringVar(&o.Model, "model", "", "model: mlp or cnn (fashion), gru (keyboard); default mlp / gru")
	fs.IntVar(&o.PerRound, "per-round", 10, "reports each round wants (130% are selected)")
	fs.IntVar(&o.Rounds, "rounds", 10, "rounds to run")
	fs.IntVar(&o.LocalSteps, "local-steps", 20, "local training steps per round")
	fs.IntVar(&o.Batch, "batch", 32, "local batch size")
	fs.Float64Var(lr, "lr", 0.05, "client learning rate (SGD, momentum 0.9)")
	fs.Float64Var(prox, "prox-mu", 0, "FedProx mu (0 = FedAvg)")
	fs.BoolVar(&o.SecAgg, "secagg", false, "secure aggregation (SecAgg+)")
	fs.Float64Var(&o.SecAggFraction, "secagg-fraction", 0, "with --secagg: each round sends this shared random fraction of the coordinates at 8 bits (e.g. 0.14: about 17x less upload; pair with --server-lr-decay 0.3)")
	fs.StringVar(&o.Codec, "codec", "", "update codec: topk, qsgd, int8, bf16 (default: float32)")
	fs.Float64Var(&o.CodecFraction, "codec-fraction", 0, "update codec: kept fraction (topk; default 0.01)")
	fs.IntVar(&o.CodecBits, "codec-bits", 0, "update codec: value bits (topk: 32, 16 or 2..8; qsgd: 2..8)")
	fs.StringVar(&o.ServerOpt, "server-opt", "fedavg", "server optimizer: fedavg or fedavgm (server momentum)")
	fs.Float64Var(&o.ServerMomentum, "server-momentum", 0, "fedavgm momentum (default 0.9)")
	fs.Float64Var(&o.ServerLR, "server-lr", 0, "server learning rate (default 1 for fedavg, 1-momentum for fedavgm)")
	fs.Float64Var(&o.ServerLRDecay, "server-lr-decay", 0, "multiply the server learning rate by this for the second half of the rounds (0: constant)")
	fs.StringVar(&o.Download, "download", "bf16", "served precision of the global model: bf16 (rounded; the relay keeps float32) or float32 (exact)")
	fs.IntVar(&o.DeltaKeep, "delta-keep", 8, "serve model deltas against any of the last N versions a device holds (1 = full snapshots only)")
	fs.Uint64Var(&o.Seed, "seed", 1, "random seed: the same seed gives the same run")
	fs.StringVar(&o.DataDir, "dataset", "", "data set folder (default $MURMUR_FASHION_DIR / $MURMUR_FORTUNES_DIR, then Debian's)")
	fs.IntVar(&o.EvalLimit, "eval-limit", 0, "evaluate on the first N test examples (0 = all)")
	fs.DurationVar(deadline, "deadline", 60*time.Second, "time devices have to report in a round")
}

func roundLine(r sim.RoundResult) string {
	if !r.Committed {
		return fmt.Sprintf("abandoned (%s)", r.Reason)
	}
	return fmt.Sprintf("acc %.2f%% loss %.3f, %d/%d reported, %d dropped, %d resumed", 100*r.TestAccuracy, r.TestLoss, r.Reported, r.Selected, r.Dropped, r.Resumed)
}

func printSummary(env *cli.Env, s *sim.Summary) {
	w := env.Stdout
	fmt.Fprintf(w, "\n%-6s %-9s %9s %8s %8s %8s %9s %10s %10s %7s\n", "round", "committed", "reported", "dropped", "resumed", "acc %", "loss", "up", "down", "secs")
	for _, r := range s.Rounds {
		acc, loss := "-", "-"
		if r.Committed {
			acc, loss = fmt.Sprintf("%.2f", 100*r.TestAccuracy), fmt.Sprintf("%.4f", r.TestLoss)
		}
		fmt.Fprintf(w, "%-6d %-9v %4d/%-4d %8d %8d %8s %9s %10s %10s %7.1f\n", r.Round, r.Committed, r.Reported, r.Selected,
			r.Dropped, r.Resumed, acc, loss, human(r.BytesUp), human(r.BytesDown), r.Seconds)
	}
	fmt.Fprintf(w, "\n%d of %d rounds committed; final test accuracy %.2f%%, loss %.4f; %s up, %s down; %.0fs; %d parameters\n",
		s.Committed, len(s.Rounds), 100*s.FinalAccuracy, s.FinalLoss, human(s.BytesUp), human(s.BytesDown), s.Seconds, s.Params)
	if s.CoreHash != "" {
		fmt.Fprintf(w, "training core sha256 %s\n", s.CoreHash)
	}
}

func human(b int64) string {
	f := float64(b)
	for _, u := range []string{"B", "KB", "MB", "GB"} {
		if f < 1000 || u == "GB" {
			if u == "B" {
				return fmt.Sprintf("%d B", b)
			}
			return fmt.Sprintf("%.1f %s", f, u)
		}
		f /= 1000
	}
	return ""
}
