package secagg

import (
	"fmt"
	"math/rand/v2"
	"os"
	"strconv"
	"testing"
	"time"
)

// ClientCost runs one client through a whole round against a
// Neighbourhood and returns the client's own compute time and upload bytes.
func clientCost(tb testing.TB, p Params, input []uint64) (time.Duration, int) {
	h, err := NewNeighbourhood(p, 1, [32]byte{9})
	if err != nil {
		tb.Fatal(err)
	}
	c, err := newClient(p, 1, input, [32]byte{1})
	if err != nil {
		tb.Fatal(err)
	}
	var spent time.Duration
	t0 := time.Now()
	msg := c.Start()
	spent += time.Since(t0)
	up := len(msg)
	steps := []func([]byte) ([]byte, error){h.KeyList, h.SharesFor, h.SurvivorList, h.UnmaskRequest}
	for _, step := range steps {
		in, err := step(msg)
		if err != nil {
			tb.Fatal(err)
		}
		t0 = time.Now()
		msg, err = c.Handle(in)
		spent += time.Since(t0)
		if err != nil {
			tb.Fatal(err)
		}
		up += len(msg)
	}
	if !c.Done() {
		tb.Fatal("client not done")
	}
	return spent, up
}

func TestNeighbourhoodClient(t *testing.T) {
	p := params(1000, 50, 26, 1)
	in := make([]uint64, p.Len)
	_, up := clientCost(t, p, in)
	// The packed vector, plus per neighbour an encrypted share pair (92
	// bytes) and a revealed share (37), plus headers and keys.
	packed := (p.Len*p.ModBits + 7) / 8
	if overhead := p.Degree*(92+37) + 300; up < packed || up > packed+overhead {
		t.Fatalf("upload %d bytes, want the %d-byte packed vector plus at most %d", up, packed, overhead)
	}
}

// BenchmarkClient measures one client's compute for a whole round; it is
// also what `murmur bench secagg` runs in wasm (SECAGG_BENCH_D and
// SECAGG_BENCH_N pick the size).
func BenchmarkClient(b *testing.B) {
	d, n := 100000, 100
	if v, err := strconv.Atoi(os.Getenv("SECAGG_BENCH_D")); err == nil {
		d = v
	}
	if v, err := strconv.Atoi(os.Getenv("SECAGG_BENCH_N")); err == nil {
		n = v
	}
	p := params(n, d+1, 26, 1)
	r := rand.New(rand.NewPCG(1, 2))
	in := make([]uint64, p.Len)
	for i := range in {
		in[i] = r.Uint64() & p.mask()
	}
	b.Run(fmt.Sprintf("d=%d/n=%d", d, n), func(b *testing.B) {
		var total time.Duration
		up := 0
		for b.Loop() {
			dt, u := clientCost(b, p, in)
			total += dt
			up = u
		}
		b.ReportMetric(float64(total.Milliseconds())/float64(b.N), "client-ms/op")
		b.ReportMetric(float64(up), "upload-bytes")
	})
}
