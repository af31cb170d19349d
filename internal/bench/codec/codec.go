// Package codec is the `murmur bench codec` suite: compression ratio
// (bytes of float32 / bytes on the wire), encode and decode throughput (MB/s
// of float32 input or output) and relative L2 error of every codec, on real
// model updates: the Fashion-MNIST CNN and the keyboard GRU from runtime/nn,
// trained a few local SGD steps on synthetic class-structured data from
// their seeded initialisation (the update is params after - params before;
// the download pair is the same before/after).
//
// Rows: codec/<model>.<codec>/ratio (x), .../encode and .../decode (MB/s,
// median wall time), .../rel_err (L2 relative error of one device's update,
// lossy codecs only), and, outside quick mode, .../encode-wasm and
// .../decode-wasm (the same, compiled for wasip1 and run in wazero); extra
// keys: d (parameters), bytes, rel_err, runs, min, max, cpu_mbps (MB/s of
// process CPU time, steadier than wall time on a shared machine).
package codec

import (
	"context"
	"fmt"
	"math"
	"math/rand/v2"
	"time"

	"github.com/murmur-fl/murmur/internal/bench"
	"github.com/murmur-fl/murmur/runtime/nn"
	"github.com/murmur-fl/murmur/runtime/optim"
	"github.com/murmur-fl/murmur/sync/codec"
)

func init() {
	bench.Register(bench.Suite{
		Name: "codec",
		Doc:  "update/model compression: ratio vs float32, encode/decode MB/s, relative error (CNN and GRU updates)",
		Run:  run,
	})
}

// update trains model name for steps SGD steps and returns the parameters
// before and after, and the layout's shapes.
func update(name string, steps, batch int) (before, after []float32, shapes [][]int, err error) {
	spec, err := nn.Builtin(name)
	if err != nil {
		return nil, nil, nil, err
	}
	m, err := nn.Build(spec, 1)
	if err != nil {
		return nil, nil, nil, err
	}
	before = append([]float32(nil), m.Params()...)
	for _, p := range m.Layout() {
		shapes = append(shapes, p.Shape)
	}
	o, err := optim.New(optim.Config{LR: 0.05, Momentum: 0.9}, len(before))
	if err != nil {
		return nil, nil, nil, err
	}
	r := rand.New(rand.NewPCG(7, 7))
	classes := m.Classes()
	in := m.InputSize()
	// Class prototypes: examples are a prototype plus noise, so gradients
	// carry signal, as on real data.
	protos := make([][]float32, classes)
	for c := range protos {
		protos[c] = make([]float32, in)
		for i := range protos[c] {
			protos[c][i] = float32(r.Float64())
		}
	}
	for s := 0; s < steps; s++ {
		b := nn.Batch{N: batch}
		if m.TokenInput() {
			// Token streams: a fixed Markov-ish sequence with noise; the
			// label is the next token.
			T := m.LabelsPerExample()
			b.Tokens = make([]int32, batch*T)
			b.Labels = make([]int32, batch*T)
			for e := 0; e < batch; e++ {
				t := int32(r.IntN(200))
				for j := 0; j < T; j++ {
					b.Tokens[e*T+j] = t
					next := (t*7 + 3) % int32(classes)
					if r.IntN(4) == 0 {
						next = int32(r.IntN(400))
					}
					b.Labels[e*T+j] = next
					t = next
				}
			}
		} else {
			b.X = make([]float32, batch*in)
			b.Labels = make([]int32, batch)
			for e := 0; e < batch; e++ {
				c := r.IntN(classes)
				b.Labels[e] = int32(c)
				for i := 0; i < in; i++ {
					b.X[e*in+i] = protos[c][i] + float32(r.NormFloat64()*0.3)
				}
			}
		}
		if _, err := m.Step(b, o); err != nil {
			return nil, nil, nil, err
		}
	}
	after = append([]float32(nil), m.Params()...)
	return before, after, shapes, nil
}

func norm(x []float32) float64 {
	var s float64
	for _, v := range x {
		s += float64(v) * float64(v)
	}
	return math.Sqrt(s)
}

// codecCase is one codec on one vector: enc returns the wire bytes, dec
// the decoded vector (from the last encoding).
type codecCase struct {
	name string
	enc  func() ([]byte, error)
	dec  func([]byte) ([]float32, error)
	want []float32 // what dec should approximate
	// add (secure codecs) is the server's per-device step: the blob
	// validated and added into the round's sum (Secure.UnpackAdd). dec
	// is that for one device plus the round's one DecodeSum.
	add func([]byte) error
}

func run(ctx context.Context, cfg bench.Config, emit func(bench.Result)) error {
	steps, batch, runs, budget := 5, 32, 15, 2*time.Second
	models := []string{"cnn", "gru"}
	if cfg.Quick {
		steps, batch, runs, budget = 1, 4, 3, 100*time.Millisecond
		models = []string{"cnn"}
	}
	if err := measure(ctx, cfg, emit, models, steps, batch, runs, budget); err != nil {
		return err
	}
	if cfg.Quick {
		fmt.Fprintln(cfg.Log, "codec: quick run, skipping the wasm rows (they build a wasip1 binary)")
		return nil
	}
	if err := wasmRows(ctx, cfg, emit); err != nil {
		fmt.Fprintf(cfg.Log, "codec: wasm rows not measured: %v\n", err)
	}
	return nil
}

// measure emits the rows of every case on the given models' updates.
func measure(ctx context.Context, cfg bench.Config, emit func(bench.Result), models []string, steps, batch, runs int, budget time.Duration) error {
	for _, name := range models {
		before, after, shapes, err := update(name, steps, batch)
		if err != nil {
			return fmt.Errorf("codec bench: training %s: %w", name, err)
		}
		d := len(before)
		delta := make([]float32, d)
		for i := range delta {
			delta[i] = after[i] - before[i]
		}
		fmt.Fprintf(cfg.Log, "codec: %s update, d=%d, |delta|=%.3g (after %d SGD steps of batch %d)\n", name, d, norm(delta), steps, batch)
		cases, err := cases(name, before, after, delta, shapes)
		if err != nil {
			return err
		}
		for _, c := range cases {
			if err := ctx.Err(); err != nil {
				return err
			}
			blob, err := c.enc()
			if err != nil {
				return fmt.Errorf("codec bench %s: %w", c.name, err)
			}
			got, err := c.dec(blob)
			if err != nil {
				return fmt.Errorf("codec bench %s: decode: %w", c.name, err)
			}
			mb := float64(4*d) / 1e6
			// timed runs f like bench.Time and adds the process CPU time
			// per call as a rate: on a shared machine wall time inflates
			// with other people's load, CPU time much less.
			timed := func(f func()) (bench.Stats, map[string]any) {
				c0 := cpuTime()
				s := bench.Time(runs, budget, f)
				e := s.Extra(mb)
				e["d"] = d
				if c := cpuTime() - c0; c > 0 {
					e["cpu_mbps"] = mb * float64(s.Runs+1) / c.Seconds() // +1: the warm-up call
				}
				return s, e
			}
			es, ee := timed(func() { _, _ = c.enc() })
			ds, de := timed(func() { _, _ = c.dec(blob) })
			re := codec.RelativeError(got, c.want)
			base := "codec/" + name + "." + c.name
			emit(bench.Result{Bench: base + "/ratio", Value: float64(4*d) / float64(len(blob)), Unit: "x",
				Extra: map[string]any{"d": d, "bytes": len(blob), "rel_err": re}})
			emit(bench.Result{Bench: base + "/encode", Value: es.Rate(mb), Unit: "MB/s", Extra: ee})
			emit(bench.Result{Bench: base + "/decode", Value: ds.Rate(mb), Unit: "MB/s", Extra: de})
			if c.add != nil {
				if err := c.add(blob); err != nil {
					return fmt.Errorf("codec bench %s: add: %w", c.name, err)
				}
				as, ae := timed(func() { _ = c.add(blob) })
				emit(bench.Result{Bench: base + "/add", Value: as.Rate(mb), Unit: "MB/s", Extra: ae})
			}
			if re > 0 { // lossless codecs: 0, in the ratio row's rel_err
				emit(bench.Result{Bench: base + "/rel_err", Value: re, Unit: "L2 rel",
					Extra: map[string]any{"d": d}})
			}
		}
	}
	return nil
}

func cases(model string, before, after, delta []float32, shapes [][]int) ([]codecCase, error) {
	d := len(delta)
	var out []codecCase
	plain := func(label string, cfg codec.Config) error {
		e, err := codec.NewEncoder(cfg, codec.WithShapes(shapes), codec.WithRand(rand.NewPCG(1, 2)))
		if err != nil {
			return err
		}
		out = append(out, codecCase{name: label, want: delta,
			enc: func() ([]byte, error) { return e.Encode(delta) },
			dec: func(b []byte) ([]float32, error) { return codec.Decode(b, codec.WithDim(d)) },
		})
		return nil
	}
	model3 := func(label string, cfg codec.Config, delta bool) error {
		e, err := codec.NewEncoder(cfg, codec.WithShapes(shapes))
		if err != nil {
			return err
		}
		c := codecCase{name: label, want: after}
		if delta {
			c.enc = func() ([]byte, error) { return e.EncodeModel(after, 2, before, 1) }
		} else {
			c.enc = func() ([]byte, error) { return e.EncodeModel(after, 2, nil, 0) }
		}
		c.dec = func(b []byte) ([]float32, error) {
			m, _, err := codec.DecodeModel(b, before, 1, codec.WithDim(d))
			return m, err
		}
		out = append(out, c)
		return nil
	}
	const n = 1000
	seed := make([]byte, 32)
	seed[0] = 42
	C := norm(delta) // the round's clip: no clipping of this update
	var maxAbs float64
	for _, v := range delta {
		maxAbs = max(maxAbs, math.Abs(float64(v)))
	}
	secure := func(label string, cfg codec.Config) error {
		s, err := codec.NewSecure(cfg, d)
		if err != nil {
			return err
		}
		rng := rand.NewPCG(3, 4)
		roundSum := make([]uint64, s.Len())
		out = append(out, codecCase{name: label, want: delta,
			add: func(b []byte) error { return s.UnpackAdd(roundSum, b) },
			enc: func() ([]byte, error) {
				var v []uint64
				var err error
				if cfg.Feedback {
					v, err = s.EncodeFeedback(nil, delta, 1, rng, new(codec.Residual)) // one round
				} else {
					v, err = s.Encode(nil, delta, 1, rng)
				}
				if err != nil {
					return nil, err
				}
				// Masking (secagg) would go here: the same length and B.
				return s.Pack(v)
			},
			dec: func(b []byte) ([]float32, error) {
				// The server's path: each device's blob added into the
				// round's sum (here one device), then one DecodeSum.
				sum := make([]uint64, s.Len())
				if err := s.UnpackAdd(sum, b); err != nil {
					return nil, err
				}
				x, _, err := s.DecodeSum(sum)
				return x, err
			},
		})
		return nil
	}
	for _, step := range []error{
		plain("float32", codec.Config{Codec: "float32"}),
		plain("topk1%-f32", codec.Config{Codec: "topk", Fraction: 0.01}),
		plain("topk1%-q4", codec.Config{Codec: "topk", Fraction: 0.01, Bits: 4, Bucket: 64}),
		plain("topk0.3%-q4", codec.Config{Codec: "topk", Fraction: 0.003, Bits: 4, Bucket: 64}),
		plain("qsgd4", codec.Config{Codec: "qsgd", Bits: 4}),
		secure("secure-b8", codec.Config{Codec: "secure", Bits: 8, Clip: C, Range: maxAbs, MaxClients: n, Seed: seed}),
		secure("secure-b8-rot", codec.Config{Codec: "secure", Bits: 8, Clip: C, MaxClients: n, Rotate: true, Seed: seed}),
		secure("secure-b8-sub10%", codec.Config{Codec: "secure", Bits: 8, Clip: C, Range: maxAbs, MaxClients: n, Fraction: 0.1, Seed: seed}),
		secure("secure-b8-sub10%-rot", codec.Config{Codec: "secure", Bits: 8, Clip: C, MaxClients: n, Fraction: 0.1, Rotate: true, Seed: seed}),
		secure("secure-b8-sub10%-fb", codec.Config{Codec: "secure", Bits: 8, Clip: C, Range: maxAbs, MaxClients: n, Fraction: 0.1, Feedback: true, Seed: seed}),
		secure("sketch-5x2%", codec.Config{Codec: "sketch", Bits: 8, Clip: C, Range: maxAbs, MaxClients: n, Rows: 5, Cols: max(64, d/50), TopK: max(1, d/100), Seed: seed}),
		model3("dl-float32-zstd", codec.Config{Codec: "float32", Zstd: true}, false),
		model3("dl-bf16-zstd", codec.Config{Codec: "bf16", Zstd: true}, false),
		model3("dl-delta-float32-zstd", codec.Config{Codec: "float32", Zstd: true}, true),
		model3("dl-delta-bf16-zstd", codec.Config{Codec: "bf16", Zstd: true}, true),
		model3("dl-delta-int8-zstd", codec.Config{Codec: "int8", Zstd: true}, true),
	} {
		if step != nil {
			return nil, fmt.Errorf("codec bench (%s): %w", model, step)
		}
	}
	return out, nil
}
