// Package secagg is the `murmur bench secagg` suite: SecAgg+ client time
// and upload size, server time under dropout, and the client in wasm
// (wazero), with the row names of DESIGN.md.
package secagg

import (
	"bufio"
	"bytes"
	"context"
	"fmt"
	"math/rand/v2"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"runtime"
	"strconv"
	"sync"
	"time"

	"github.com/murmur-fl/murmur/internal/bench"
	sa "github.com/murmur-fl/murmur/secagg"
	"github.com/murmur-fl/murmur/secagg/encode"
)

// quantBits is b; each round uses B = b + ceil(log2 n) (encode.MinModBits).
const quantBits = 16

func init() {
	bench.Register(bench.Suite{
		Name: "secagg",
		Doc:  "SecAgg+ client ms and upload, server ms under dropout, client in wasm",
		Run:  run,
	})
}

func run(ctx context.Context, cfg bench.Config, emit func(bench.Result)) error {
	type cc struct{ d, n int }
	clients := []cc{{100000, 100}, {100000, 1000}, {1000000, 100}, {1000000, 1000}}
	servers := []int{100, 500, 1000}
	drops := []float64{0, 0.1, 0.3}
	sd := 100000
	if cfg.Quick {
		clients, servers, drops, sd = []cc{{1000, 10}}, []int{10}, []float64{0, 0.3}, 1000
	}
	for _, c := range clients {
		if err := ctx.Err(); err != nil {
			return err
		}
		r, err := Client(c.d, c.n, cfg.Quick)
		if err != nil {
			return err
		}
		emit(r[0])
		emit(r[1])
	}
	for _, n := range servers {
		for _, drop := range drops {
			if err := ctx.Err(); err != nil {
				return err
			}
			r, err := Server(sd, n, drop)
			if err != nil {
				return err
			}
			emit(r)
		}
	}
	if cfg.Quick {
		fmt.Fprintln(cfg.Log, "secagg: quick run, skipping the wasm client (it builds a wasip1 test binary)")
		return nil
	}
	r, err := wasmClient(ctx, 100000, 100, cfg)
	if err != nil {
		fmt.Fprintf(cfg.Log, "secagg: wasm client not measured: %v\n", err)
		return nil
	}
	emit(r)
	return nil
}

func params(d, n int, drop float64) sa.Params {
	k, t := sa.GraphFor(n, drop)
	return sa.Params{RoundID: 1, N: n, Threshold: t, Degree: k, ModBits: encode.MinModBits(quantBits, n), Len: d + 1}
}

func randInput(r *rand.Rand, p sa.Params) []uint64 {
	v := make([]uint64, p.Len)
	for i := range v {
		v[i] = r.Uint64() & (1<<p.ModBits - 1)
	}
	return v
}

// Client measures one client's compute for a whole round (keys, shares,
// masking, signing, unmasking) against a Neighbourhood, and its upload.
func Client(d, n int, quick bool) ([2]bench.Result, error) {
	p := params(d, n, 0)
	r := rand.New(rand.NewPCG(uint64(d), uint64(n)))
	in := randInput(r, p)
	h, err := sa.NewNeighbourhood(p, 1, [32]byte{7})
	if err != nil {
		return [2]bench.Result{}, err
	}
	var up int
	var runErr error
	var cpus []time.Duration
	once := func() time.Duration {
		var cpu time.Duration
		defer func() { cpus = append(cpus, cpu) }()
		c, err := sa.NewClient(p, 1, in, rand.NewChaCha8([32]byte{1}))
		if err != nil {
			runErr = err
			return 0
		}
		var spent time.Duration
		t0, c0 := time.Now(), cpuTime()
		msg := c.Start()
		spent, cpu = spent+time.Since(t0), cpu+cpuTime()-c0
		up = len(msg)
		for _, step := range []func([]byte) ([]byte, error){h.KeyList, h.SharesFor, h.SurvivorList, h.UnmaskRequest} {
			m, err := step(msg)
			if err != nil {
				runErr = err
				return 0
			}
			t0, c0 = time.Now(), cpuTime()
			msg, err = c.Handle(m)
			spent, cpu = spent+time.Since(t0), cpu+cpuTime()-c0
			if err != nil {
				runErr = err
				return 0
			}
			up += len(msg)
		}
		return spent
	}
	runs := 5
	if quick {
		runs = 3
	}
	ds := []time.Duration{}
	once() // warm up
	for range runs {
		ds = append(ds, once())
	}
	if runErr != nil {
		return [2]bench.Result{}, runErr
	}
	st := stats(ds)
	cst := stats(cpus[1:])
	f32 := 4 * d
	name := fmt.Sprintf("secagg/client/d=%d/n=%d", d, n)
	return [2]bench.Result{
		{Bench: name, Value: ms(st.Median), Unit: "ms", Extra: map[string]any{
			"d": d, "n": n, "k": p.Degree, "t": p.Threshold, "B": p.ModBits, "runs": st.Runs,
			"min": ms(st.Min), "max": ms(st.Max), "cpu_ms": ms(cst.Median), "upload_bytes": up, "float32_bytes": f32}},
		{Bench: fmt.Sprintf("secagg/upload/d=%d/n=%d", d, n), Value: float64(up) / float64(f32), Unit: "x float32",
			Extra: map[string]any{"d": d, "n": n, "b": quantBits, "B": p.ModBits, "upload_bytes": up}},
	}, nil
}

// Server runs a whole round of n clients with d-element inputs, a fraction
// drop of which vanish before sending their masked input (the costly case:
// their pairwise masks must be reconstructed), and measures the server's
// time in Handle and Advance over all stages.
func Server(d, n int, drop float64) (bench.Result, error) {
	p := params(d, n, drop)
	srv, err := sa.NewServer(p)
	if err != nil {
		return bench.Result{}, err
	}
	r := rand.New(rand.NewPCG(uint64(n), uint64(drop*100)))
	clients := make([]*sa.Client, n+1)
	gone := map[sa.ClientID]bool{}
	for id := 1; id <= n; id++ {
		c, err := sa.NewClient(p, sa.ClientID(id), randInput(r, p), rand.NewChaCha8([32]byte{byte(id), byte(id >> 8)}))
		if err != nil {
			return bench.Result{}, err
		}
		clients[id] = c
		if r.Float64() < drop {
			gone[sa.ClientID(id)] = true
		}
	}
	var serverTime, unmask, serverCPU, unmaskCPU time.Duration
	out := map[sa.ClientID][]byte{}
	for id := 1; id <= n; id++ {
		out[sa.ClientID(id)] = clients[id].Start()
	}
	for stage := sa.StageAdvertise; stage < sa.StageDone; stage++ {
		runtime.GC() // the clients' garbage is not the server's cost
		t0, c0 := time.Now(), cpuTime()
		for id, msg := range out {
			if err := srv.Handle(id, msg); err != nil {
				return bench.Result{}, err
			}
		}
		in, err := srv.Advance()
		dt, dc := time.Since(t0), cpuTime()-c0
		serverTime += dt
		serverCPU += dc
		if stage == sa.StageUnmask {
			unmask, unmaskCPU = dt, dc
		}
		if err != nil {
			return bench.Result{}, fmt.Errorf("secagg bench n=%d drop=%.1f: %w", n, drop, err)
		}
		out = replies(clients, in, gone, stage == sa.StageShareKeys)
		if out == nil {
			return bench.Result{}, fmt.Errorf("secagg bench: a client failed at stage %v", stage)
		}
	}
	if _, _, err := srv.Result(); err != nil {
		return bench.Result{}, err
	}
	return bench.Result{
		Bench: fmt.Sprintf("secagg/server/d=%d/n=%d/drop=%.1f", d, n, drop), Value: ms(serverTime), Unit: "ms",
		Extra: map[string]any{"d": d, "n": n, "k": p.Degree, "t": p.Threshold, "dropped": len(gone),
			"unmask_ms": ms(unmask), "cpu_ms": ms(serverCPU), "unmask_cpu_ms": ms(unmaskCPU),
			"gomaxprocs": runtime.GOMAXPROCS(0)},
	}, nil
}

// replies runs the clients (in parallel: this is set-up, not measured).
// Clients in gone stop answering once they have received their shares.
func replies(clients []*sa.Client, in map[sa.ClientID][]byte, gone map[sa.ClientID]bool, dropNow bool) map[sa.ClientID][]byte {
	out := map[sa.ClientID][]byte{}
	var mu sync.Mutex
	var wg sync.WaitGroup
	ids := make(chan sa.ClientID, len(in))
	for id := range in {
		ids <- id
	}
	close(ids)
	failed := false
	for range runtime.GOMAXPROCS(0) {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for id := range ids {
				if gone[id] && dropNow {
					continue
				}
				reply, err := clients[id].Handle(in[id])
				mu.Lock()
				if err != nil {
					failed = true
				}
				out[id] = reply
				mu.Unlock()
			}
		}()
	}
	wg.Wait()
	if failed {
		return nil
	}
	return out
}

func ms(d time.Duration) float64 { return float64(d.Microseconds()) / 1000 }

func stats(ds []time.Duration) bench.Stats {
	s := append([]time.Duration(nil), ds...)
	for i := range s {
		for j := i + 1; j < len(s); j++ {
			if s[j] < s[i] {
				s[i], s[j] = s[j], s[i]
			}
		}
	}
	return bench.Stats{Median: s[len(s)/2], Min: s[0], Max: s[len(s)-1], Runs: len(s)}
}

// wasmClient builds secagg's test binary for wasip1 and runs its
// BenchmarkClient under wazero through internal/wasmrun. It needs
// the Go toolchain and the murmur source tree (the working directory or
// MURMUR_SRC).
func wasmClient(ctx context.Context, d, n int, cfg bench.Config) (bench.Result, error) {
	src := os.Getenv("MURMUR_SRC")
	if src == "" {
		src = "."
	}
	if _, err := os.Stat(filepath.Join(src, "secagg", "SPEC.md")); err != nil {
		return bench.Result{}, fmt.Errorf("murmur source tree not found at %q (set MURMUR_SRC)", src)
	}
	goBin, err := exec.LookPath("go")
	if err != nil {
		return bench.Result{}, fmt.Errorf("no go toolchain on PATH")
	}
	tmp, err := os.MkdirTemp("", "secagg-wasm")
	if err != nil {
		return bench.Result{}, err
	}
	defer os.RemoveAll(tmp)
	wasm := filepath.Join(tmp, "secagg.wasm")
	runner := filepath.Join(tmp, "wasmrun")
	fmt.Fprintln(cfg.Log, "secagg: building the wasip1 test binary and the wazero runner")
	build := exec.CommandContext(ctx, goBin, "test", "-c", "-o", wasm, "./secagg")
	build.Dir, build.Env = src, append(os.Environ(), "GOOS=wasip1", "GOARCH=wasm")
	if b, err := build.CombinedOutput(); err != nil {
		return bench.Result{}, fmt.Errorf("building wasm test binary: %v\n%s", err, b)
	}
	build = exec.CommandContext(ctx, goBin, "build", "-o", runner, "./internal/wasmrun/cmd")
	build.Dir = src
	if b, err := build.CombinedOutput(); err != nil {
		return bench.Result{}, fmt.Errorf("building wasmrun: %v\n%s", err, b)
	}
	cmd := exec.CommandContext(ctx, runner, "-dir", filepath.Join(src, "secagg"), wasm,
		"-test.run", "^$", "-test.bench", "^BenchmarkClient$", "-test.benchtime", "3x")
	cmd.Env = append(os.Environ(), fmt.Sprintf("SECAGG_BENCH_D=%d", d), fmt.Sprintf("SECAGG_BENCH_N=%d", n))
	b, err := cmd.CombinedOutput()
	if err != nil {
		return bench.Result{}, fmt.Errorf("running under wazero: %v\n%s", err, b)
	}
	v, err := parseMetric(b, "client-ms/op")
	if err != nil {
		return bench.Result{}, err
	}
	return bench.Result{Bench: fmt.Sprintf("secagg/client/d=%d/n=%d/wasm", d, n), Value: v, Unit: "ms",
		Extra: map[string]any{"d": d, "n": n, "runtime": "wazero", "runs": 3}}, nil
}

var metricRE = regexp.MustCompile(`([0-9.]+) (\S+)`)

func parseMetric(out []byte, unit string) (float64, error) {
	sc := bufio.NewScanner(bytes.NewReader(out))
	for sc.Scan() {
		for _, m := range metricRE.FindAllStringSubmatch(sc.Text(), -1) {
			if m[2] == unit {
				return strconv.ParseFloat(m[1], 64)
			}
		}
	}
	return 0, fmt.Errorf("no %q in the benchmark output:\n%s", unit, out)
}
