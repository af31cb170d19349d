package sim

import (
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"io"
	"os"
	"os/signal"
	"time"
)

// ExampleMain is the command line of the examples (examples/fashion,
// examples/keyboard): -mode central trains one model on all the data,
// -mode federated runs the federation; both print one line (or -json
// object) per epoch or round and a final comparison line. It returns the
// process exit status.
func ExampleMain(example string, args []string, stdout, stderr io.Writer) int {
	fs := flag.NewFlagSet(example, flag.ContinueOnError)
	fs.SetOutput(stderr)
	defModel := map[string]string{"fashion": "mlp", "keyboard": "gru"}[example]
	mode := fs.String("mode", "central", "central (one model, all the data) or federated")
	var o Options
	o.Example = example
	fs.StringVar(&o.Model, "model", defModel, "model (fashion: mlp or cnn; keyboard: gru)")
	epochs := fs.Int("epochs", 3, "central: passes over the training set")
	decay := fs.Int("decay-after", 3, "central: halve the learning rate after every epoch past this one (0: constant)")
	lr := fs.Float64("lr", 0, "learning rate (default: central Adam 0.001 (0.003 for gru), federated SGD 0.05)")
	fs.IntVar(&o.Batch, "batch", 32, "minibatch size")
	fs.Uint64Var(&o.Seed, "seed", 1, "random seed")
	fs.StringVar(&o.DataDir, "data", "", "data folder (default: $MURMUR_FASHION_DIR / $MURMUR_FORTUNES_DIR, then Debian's)")
	fs.IntVar(&o.Limit, "limit", 0, "use only the first N training examples (0 = all)")
	fs.IntVar(&o.EvalLimit, "eval-limit", 0, "evaluate on the first N test examples (0 = all)")
	fs.IntVar(&o.Devices, "devices", 100, "federated: devices")
	fs.IntVar(&o.PerRound, "per-round", 15, "federated: reports wanted per round")
	fs.IntVar(&o.Rounds, "rounds", 100, "federated: rounds")
	fs.IntVar(&o.LocalSteps, "local-steps", 20, "federated: local steps per round")
	fs.StringVar(&o.Partition, "partition", "", "federated: iid, dirichlet:<alpha> or source")
	fs.BoolVar(&o.SecAgg, "secagg", false, "federated: secure aggregation")
	fs.Float64Var(&o.Dropout, "dropout", 0, "federated: probability a device drops mid-round")
	fs.StringVar(&o.Accel, "accel", "exact", "federated: host accelerator for the wasm core: exact, native, go (empty = in-guest kernels)")
	fs.StringVar(&o.Trainer, "trainer", "wasm", "federated: wasm (the core in wazero) or native (same bits with -accel exact, faster)")
	asJSON := fs.Bool("json", false, "one JSON line per epoch or round")
	if err := fs.Parse(args); err != nil {
		return 2
	}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt)
	defer stop()
	enc := json.NewEncoder(stdout)
	o.Log = stderr
	top3 := example == "keyboard"
	switch *mode {
	case "central":
		rate := float32(*lr)
		if rate == 0 {
			rate = 0.001
			if o.Model == "gru" {
				rate = 0.003
			}
		}
		res, err := Central(ctx, o, *epochs, rate, *decay, func(r EpochResult) {
			if *asJSON {
				enc.Encode(r)
				return
			}
			fmt.Fprintf(stdout, "epoch %d: train loss %.4f, test accuracy %.2f%%%s, test loss %.4f (%.1fs)\n", r.Epoch, r.TrainLoss,
				100*r.TestAccuracy, top3Text(top3, float64(r.TestTop3)), r.TestLoss, r.Seconds)
		})
		if err != nil {
			fmt.Fprintf(stderr, "%s: %v\n", example, err)
			return 1
		}
		if len(res) > 0 && !*asJSON {
			last := res[len(res)-1]
			fmt.Fprintf(stdout, "central %s: test accuracy %.2f%%%s after %d epochs\n", o.Model, 100*last.TestAccuracy, top3Text(top3, float64(last.TestTop3)), last.Epoch)
		}
	case "federated":
		if *lr != 0 {
			o.LR = float32(*lr)
		}
		o.Deadline = 2 * time.Minute
		o.OnRound = func(r RoundResult) {
			if *asJSON {
				enc.Encode(r)
				return
			}
			fmt.Fprintf(stdout, "round %d: committed %v, %d/%d reported, test accuracy %.2f%%%s, loss %.4f (%.1fs)\n", r.Round, r.Committed,
				r.Reported, r.Selected, 100*r.TestAccuracy, top3Text(top3, r.TestTop3), r.TestLoss, r.Seconds)
		}
		sum, err := Run(ctx, o)
		if err != nil {
			fmt.Fprintf(stderr, "%s: %v\n", example, err)
			return 1
		}
		if !*asJSON {
			fmt.Fprintf(stdout, "federated %s: final test accuracy %.2f%%%s after %d rounds (%d committed), %.0fs\n", o.Model,
				100*sum.FinalAccuracy, top3Text(top3, sum.FinalTop3), len(sum.Rounds), sum.Committed, sum.Seconds)
			fmt.Fprintln(stdout, "accuracy curve:", curve(sum.Rounds))
		}
	default:
		fmt.Fprintf(stderr, "%s: -mode %q: want central or federated\n", example, *mode)
		return 2
	}
	return 0
}

func top3Text(on bool, v float64) string {
	if !on {
		return ""
	}
	return fmt.Sprintf(" (top-3 %.2f%%)", 100*v)
}

// curve renders committed rounds' accuracy as a one-line sparkline.
func curve(rs []RoundResult) string {
	const bars = "▁▂▃▄▅▆▇█"
	var b []rune
	for _, r := range rs {
		if !r.Committed {
			b = append(b, '·')
			continue
		}
		i := int(r.TestAccuracy * float64(len([]rune(bars))))
		i = min(max(i, 0), len([]rune(bars))-1)
		b = append(b, []rune(bars)[i])
	}
	return string(b)
}
