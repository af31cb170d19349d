// Command fashion trains on Fashion-MNIST. With -mode central it trains one
// model on all 60,000 training images (the reference the federated runs are
// compared with) and prints test accuracy per epoch.
//
//	go run ./examples/fashion -mode central -model mlp -epochs 5
//	go run ./examples/fashion -mode central -model cnn -epochs 3 -json
package main

import (
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"io"
	"os"
	"time"

	"github.com/murmur-fl/murmur/internal/progress"
	"github.com/murmur-fl/murmur/runtime/data"
	"github.com/murmur-fl/murmur/runtime/nn"
	"github.com/murmur-fl/murmur/runtime/train"
)

// Options configures a central run.
type Options struct {
	Model   string  // "mlp" or "cnn"
	Epochs  int     // passes over the training set
	Batch   int     // minibatch size
	LR      float32 // Adam learning rate
	Seed    uint64  // parameter init and shuffle seed
	DataDir string  // Fashion-MNIST folder ("" = $MURMUR_FASHION_DIR, then Debian's)
	Limit   int     // use only the first Limit training images (0 = all); for tests
	JSON    bool    // one JSON line per epoch on out
}

// EpochResult is one epoch's line of output.
type EpochResult struct {
	Epoch        int     `json:"epoch"`
	TrainLoss    float32 `json:"train_loss"`
	TestAccuracy float32 `json:"test_accuracy"`
	TestLoss     float32 `json:"test_loss"`
	Seconds      float64 `json:"seconds"`
}

func main() {
	var o Options
	mode := flag.String("mode", "central", "central: train one model on all the data")
	flag.StringVar(&o.Model, "model", "mlp", "model: mlp (784-128-10) or cnn")
	flag.IntVar(&o.Epochs, "epochs", 5, "epochs over the training set")
	flag.IntVar(&o.Batch, "batch", 64, "minibatch size")
	lr := flag.Float64("lr", 0.001, "Adam learning rate")
	flag.Uint64Var(&o.Seed, "seed", 1, "random seed")
	flag.StringVar(&o.DataDir, "data", "", "Fashion-MNIST folder (default $MURMUR_FASHION_DIR, then the Debian package's)")
	flag.IntVar(&o.Limit, "limit", 0, "train on only the first N images (0 = all 60,000)")
	flag.BoolVar(&o.JSON, "json", false, "print one JSON line per epoch")
	flag.Parse()
	o.LR = float32(*lr)
	if *mode != "central" {
		fmt.Fprintf(os.Stderr, "fashion: -mode %q: only central is built in; run federated training with `murmur simulate --example fashion`\n", *mode)
		os.Exit(2)
	}
	if _, err := Central(context.Background(), o, os.Stdout, os.Stderr); err != nil {
		fmt.Fprintln(os.Stderr, "fashion:", err)
		os.Exit(1)
	}
}

// Central trains one model on the whole training set and evaluates it on
// the test set after every epoch.
func Central(ctx context.Context, o Options, out, log io.Writer) ([]EpochResult, error) {
	dir := o.DataDir
	if dir == "" {
		var err error
		if dir, err = data.FashionMNISTDir(); err != nil {
			return nil, err
		}
	}
	fm, err := data.LoadFashionMNIST(dir)
	if err != nil {
		return nil, err
	}
	spec, err := nn.Builtin(o.Model)
	if err != nil {
		return nil, err
	}
	s, err := train.New(spec, o.Seed)
	if err != nil {
		return nil, err
	}
	tr := fm.Train
	n := tr.N
	if o.Limit > 0 && o.Limit < n {
		n = o.Limit
	}
	if err := s.SetData(train.TrainSlot, tr.X[:n*tr.Dim], nil, tr.Labels[:n], n); err != nil {
		return nil, err
	}
	te := fm.Test
	if err := s.SetData(train.EvalSlot, te.X, nil, te.Labels, te.N); err != nil {
		return nil, err
	}
	opt, _ := json.Marshal(map[string]any{"name": "adam", "lr": o.LR})
	if err := s.BeginRound(opt); err != nil {
		return nil, err
	}
	fmt.Fprintf(log, "fashion: central %s, %d parameters, %d training and %d test images from %s\n",
		o.Model, len(s.Params()), n, te.N, dir)
	stepsPerEpoch := (n + o.Batch - 1) / o.Batch
	start := time.Now()
	var results []EpochResult
	enc := json.NewEncoder(out)
	for epoch := 1; epoch <= o.Epochs; epoch++ {
		bar := progress.New(log, fmt.Sprintf("epoch %d/%d", epoch, o.Epochs), int64(stepsPerEpoch))
		var lossSum float64
		const chunk = 20
		for done := 0; done < stepsPerEpoch; done += chunk {
			if err := ctx.Err(); err != nil {
				return results, err
			}
			st, err := s.Train(min(chunk, stepsPerEpoch-done), o.Batch, o.Seed)
			if err != nil {
				return results, err
			}
			lossSum += float64(st.Loss) * float64(st.Steps)
			bar.Add(int64(st.Steps))
			bar.Suffix(fmt.Sprintf("loss %.3f", st.Loss))
		}
		bar.Finish()
		ev, err := s.Evaluate(train.EvalSlot, 500)
		if err != nil {
			return results, err
		}
		r := EpochResult{Epoch: epoch, TrainLoss: float32(lossSum / float64(stepsPerEpoch)),
			TestAccuracy: ev.Accuracy, TestLoss: ev.Loss, Seconds: time.Since(start).Seconds()}
		results = append(results, r)
		if o.JSON {
			enc.Encode(r)
		} else {
			fmt.Fprintf(out, "epoch %d: train loss %.4f, test accuracy %.2f%%, test loss %.4f (%.1fs)\n",
				r.Epoch, r.TrainLoss, 100*r.TestAccuracy, r.TestLoss, r.Seconds)
		}
	}
	return results, nil
}
