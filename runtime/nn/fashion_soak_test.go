package nn_test

import (
	"os"
	"testing"
	"time"

	"github.com/murmur-fl/murmur/runtime/data"
	"github.com/murmur-fl/murmur/runtime/nn"
	"github.com/murmur-fl/murmur/runtime/optim"
	"github.com/murmur-fl/murmur/runtime/tensor"
)

// TestFashionMNISTAccuracy trains the built-in mlp and cnn on the real
// Fashion-MNIST for a few epochs and checks the accuracy bars
// (mlp >= 85% after 3 epochs, cnn >= 90% after 6). Tens of minutes of
// CPU on a shared 2-core machine: behind MURMUR_SOAK=1.
// MURMUR_SOAK_MODELS=cnn limits it to one model.
func TestFashionMNISTAccuracy(t *testing.T) {
	if os.Getenv("MURMUR_SOAK") != "1" {
		t.Skip("trains on the real Fashion-MNIST for minutes; set MURMUR_SOAK=1 to run")
	}
	fm, err := data.LoadFashionMNIST("")
	if err != nil {
		t.Skipf("Fashion-MNIST not available: %v", err)
	}
	type run struct {
		name   string
		epochs int
		want   float64
	}
	runs := []run{{"mlp", 3, 0.85}, {"cnn", 6, 0.90}}
	only := os.Getenv("MURMUR_SOAK_MODELS")
	for _, c := range runs {
		name := c.name
		if only != "" && only != name {
			continue
		}
		spec, err := nn.Builtin(name)
		if err != nil {
			t.Fatal(err)
		}
		m, err := nn.Build(spec, 1)
		if err != nil {
			t.Fatal(err)
		}
		o, _ := optim.New(optim.Config{Name: "adam", LR: 1e-3}, len(m.Params()))
		train, _ := data.NewLoader(fm.Train, nil, 64, tensor.NewRNG(1))
		test, _ := data.NewLoader(fm.Test, nil, 500, nil)
		var acc float64
		for ep := 1; ep <= c.epochs; ep++ {
			// Adam 1e-3, halved every epoch after the third.
			if ep > 3 {
				o.SetLR(o.Config().LR / 2)
			}
			t0 := time.Now()
			for {
				b, ok := train.Next()
				if !ok {
					break
				}
				if _, err := m.Step(nn.Batch{N: b.N, X: b.X, Labels: b.Labels}, o); err != nil {
					t.Fatal(err)
				}
			}
			var e nn.Eval
			for {
				b, ok := test.Next()
				if !ok {
					break
				}
				r, err := m.Evaluate(nn.Batch{N: b.N, X: b.X, Labels: b.Labels})
				if err != nil {
					t.Fatal(err)
				}
				e = e.Add(r)
			}
			acc = e.Accuracy()
			t.Logf("%s epoch %d: test accuracy %.4f loss %.4f (%.0fs)", name, ep, acc, e.MeanLoss(), time.Since(t0).Seconds())
		}
		if acc < c.want {
			t.Errorf("%s: test accuracy %.4f after %d epochs, want >= %.2f", name, acc, c.epochs, c.want)
		}
	}
}
