package sim

import (
	"context"
	"encoding/json"
	"fmt"
	"time"

	"github.com/murmur-fl/murmur/internal/progress"
	"github.com/murmur-fl/murmur/runtime/train"
)

// EpochResult is one epoch of central training (one -json line).
type EpochResult struct {
	Epoch        int     `json:"epoch"`
	TrainLoss    float32 `json:"train_loss"`
	TestAccuracy float32 `json:"test_accuracy"`
	TestTop3     float32 `json:"test_top3,omitempty"`
	TestLoss     float32 `json:"test_loss"`
	Seconds      float64 `json:"seconds"`
}

// Central trains one model on the example's whole training set (the
// reference a federated run is compared with, on the same data) for
// epochs passes with Adam at lr, halving the rate after every epoch past
// decayAfter (0: constant), and evaluates after each epoch. o supplies
// the example, model, batch size, seed, data folder and limits; its
// federation fields are ignored.
func Central(ctx context.Context, o Options, epochs int, lr float32, decayAfter int, onEpoch func(EpochResult)) ([]EpochResult, error) {
	o.Devices, o.PerRound = 1, 1
	if o.Partition == "" {
		o.Partition = "iid"
	}
	if err := o.defaults(); err != nil {
		return nil, err
	}
	nativeKernels()
	w, err := loadWorld(&o)
	if err != nil {
		return nil, err
	}
	s, err := train.New(w.spec, o.Seed)
	if err != nil {
		return nil, err
	}
	if err := s.SetData(train.TrainSlot, w.train.X, w.train.Tokens, w.train.Labels, w.train.N); err != nil {
		return nil, err
	}
	if err := s.SetData(train.EvalSlot, w.test.X, w.test.Tokens, w.test.Labels, w.test.N); err != nil {
		return nil, err
	}
	opt, _ := json.Marshal(map[string]any{"name": "adam", "lr": lr})
	if err := s.BeginRound(opt); err != nil {
		return nil, err
	}
	fmt.Fprintf(o.Log, "central: %s/%s, %d parameters, %d training and %d test examples\n",
		o.Example, o.Model, len(s.Params()), w.train.N, w.test.N)
	steps := (w.train.N + o.Batch - 1) / o.Batch
	start := time.Now()
	var out []EpochResult
	for epoch := 1; epoch <= epochs; epoch++ {
		if decayAfter > 0 && epoch > decayAfter {
			lr /= 2
			if err := s.SetLR(lr); err != nil {
				return out, err
			}
		}
		bar := progress.New(o.Log, fmt.Sprintf("epoch %d/%d", epoch, epochs), int64(steps))
		var lossSum float64
		const chunk = 20
		for done := 0; done < steps; done += chunk {
			if err := ctx.Err(); err != nil {
				return out, err
			}
			st, err := s.Train(min(chunk, steps-done), o.Batch, o.Seed)
			if err != nil {
				return out, err
			}
			lossSum += float64(st.Loss) * float64(st.Steps)
			bar.Add(int64(st.Steps))
			bar.Suffix(fmt.Sprintf("loss %.3f", st.Loss))
		}
		bar.Finish()
		ev, err := s.Evaluate(train.EvalSlot, 256)
		if err != nil {
			return out, err
		}
		r := EpochResult{Epoch: epoch, TrainLoss: float32(lossSum / float64(steps)), TestAccuracy: ev.Accuracy,
			TestTop3: ev.Top3, TestLoss: ev.Loss, Seconds: time.Since(start).Seconds()}
		out = append(out, r)
		if onEpoch != nil {
			onEpoch(r)
		}
	}
	return out, nil
}
