// Package secagg implements SecAgg+ secure aggregation (Bonawitz et al.,
// CCS 2017, with the sparse neighbour graph of Bell et al., CCS 2020) as
// transport-agnostic client and server state machines.
//
// A relay drives a Server: it feeds each client message to Server.Handle,
// calls Server.Advance when a stage closes (all expected messages arrived or
// its deadline passed) and delivers the returned per-client messages; the
// clients that did not answer in time are the dropouts. After the last
// stage Server.Result gives the sum mod 2^B of the survivors' inputs. A
// device feeds each server message to Client.Handle and sends back the
// reply. Messages are opaque byte strings whose layout secagg/SPEC.md
// defines. The server learns the sum and which clients survived, never one
// client's input, as long as fewer than the threshold of a client's
// neighbours collude with it and the clients' consistency check passes.
//
// Inputs are vectors in Z_2^B; package secagg/encode turns float updates
// into such vectors and decodes the sum.
package secagg

import (
	"crypto/sha256"
	"encoding/binary"
	"errors"
	"fmt"
	"math"
	"slices"
)

// ClientID names a client in a round: 1..N. It is also the client's Shamir
// evaluation point.
type ClientID uint32

// Errors callers may test for with errors.Is.
var (
	ErrParams    = errors.New("secagg: invalid parameters")
	ErrMalformed = errors.New("secagg: malformed message")
	ErrStage     = errors.New("secagg: message not expected in this stage")
	ErrSession   = errors.New("secagg: message belongs to another session")
	// ErrTooFewSurvivors aborts a round in which some client would have
	// fewer live neighbours than the threshold.
	ErrTooFewSurvivors = errors.New("secagg: too few survivors")
	// ErrInconsistent aborts a client that sees evidence of a server lying
	// about who survived (or a forged message).
	ErrInconsistent = errors.New("secagg: inconsistent view; server may be lying")
	ErrAborted      = errors.New("secagg: round aborted")
)

// Params are public and identical for the server and every client of a
// round.
type Params struct {
	RoundID   uint64
	N         int // number of clients, IDs 1..N
	Threshold int // T: shares needed to recover a secret (Shamir degree T−1)
	Degree    int // K: neighbours per client; even, or >= N−1 for the complete graph
	ModBits   int // B: inputs and sums live in Z_2^B, 1..64
	Len       int // length of the input vector
}

// Limits that keep a malicious message from forcing huge allocations.
const (
	MaxN   = 1 << 16
	MaxLen = 1 << 27
)

// DefaultGraph returns the neighbour degree K and threshold T for n clients,
// after the reference points of Google's SecAgg+ implementation (n = 100:
// K = 12, T = 6; n = 1000 with 5% dropout and 5% corruption: K = 30,
// T = 17). Small rounds use the complete graph with a majority threshold.
func DefaultGraph(n int) (k, t int) {
	switch {
	case n <= 13:
		k = n - 1
		return k, max(1, k/2+1)
	case n <= 150:
		return 12, 6
	case n <= 400:
		return 20, 11
	default:
		return 30, 17
	}
}

// GraphFor returns a neighbour degree K and threshold T for n clients of
// which a fraction dropout may vanish at a stage: T as in DefaultGraph,
// and K raised (in steps of 2) until the expected number of clients left
// with fewer than T live neighbours, n·P[Binomial(K, 1−dropout) < T], is
// below 1/1000, so random dropout at that rate rarely aborts the round.
func GraphFor(n int, dropout float64) (k, t int) {
	k, t = DefaultGraph(n)
	if k >= n-1 || dropout <= 0 {
		return k, t
	}
	for k < n-1 && float64(n)*binomialBelow(k, 1-dropout, t) > 1e-3 {
		k += 2
	}
	return min(k, n-1), t
}

// binomialBelow returns P[X < t] for X ~ Binomial(k, q).
func binomialBelow(k int, q float64, t int) float64 {
	var sum float64
	c := 1.0 // C(k, i)
	for i := 0; i < t && i <= k; i++ {
		if i > 0 {
			c = c * float64(k-i+1) / float64(i)
		}
		sum += c * math.Pow(q, float64(i)) * math.Pow(1-q, float64(k-i))
	}
	return sum
}

// Validate reports the first problem with p.
func (p Params) Validate() error {
	switch {
	case p.N < 2 || p.N > MaxN:
		return fmt.Errorf("%w: N %d out of range 2..%d", ErrParams, p.N, MaxN)
	case p.Degree < 1:
		return fmt.Errorf("%w: Degree %d < 1", ErrParams, p.Degree)
	case p.Degree < p.N-1 && p.Degree%2 != 0:
		return fmt.Errorf("%w: Degree %d must be even (or >= N-1 = %d)", ErrParams, p.Degree, p.N-1)
	case p.Threshold < 1 || p.Threshold > min(p.Degree, p.N-1):
		return fmt.Errorf("%w: Threshold %d out of range 1..%d", ErrParams, p.Threshold, min(p.Degree, p.N-1))
	case p.ModBits < 1 || p.ModBits > 64:
		return fmt.Errorf("%w: ModBits %d out of range 1..64", ErrParams, p.ModBits)
	case p.Len < 1 || p.Len > MaxLen:
		return fmt.Errorf("%w: Len %d out of range 1..%d", ErrParams, p.Len, MaxLen)
	}
	return nil
}

func (p Params) mask() uint64 {
	if p.ModBits >= 64 {
		return ^uint64(0)
	}
	return 1<<uint(p.ModBits) - 1
}

func (p Params) valid(id ClientID) bool { return id >= 1 && int(id) <= p.N }

// encode appends the canonical 32-byte encoding of p: RoundID u64, N u32,
// Threshold u32, Degree u32, ModBits u32, Len u32, 4 zero bytes.
func (p Params) encode(b []byte) []byte {
	b = binary.LittleEndian.AppendUint64(b, p.RoundID)
	for _, v := range []int{p.N, p.Threshold, p.Degree, p.ModBits, p.Len, 0} {
		b = binary.LittleEndian.AppendUint32(b, uint32(v))
	}
	return b
}

// graph is the neighbour relation of a round.
type graph struct {
	n, k int
	perm []ClientID // ring order
	pos  []int      // pos[id] = index in perm
}

// newGraph builds the random K-regular Harary graph: clients are placed on
// a ring in a pseudorandom order derived from the round parameters, and
// each is joined to the K/2 nearest on either side. With K >= N−1 it is the
// complete graph. The order is public, so every party computes the same
// graph and the server cannot choose anyone's neighbours.
func newGraph(p Params) *graph {
	g := &graph{n: p.N, k: min(p.Degree, p.N-1)}
	g.perm = make([]ClientID, p.N)
	for i := range g.perm {
		g.perm[i] = ClientID(i + 1)
	}
	if g.k < p.N-1 {
		r := newHashStream(append([]byte("murmur/secagg/v1/graph"), p.encode(nil)...))
		for i := len(g.perm) - 1; i > 0; i-- {
			j := r.intn(i + 1)
			g.perm[i], g.perm[j] = g.perm[j], g.perm[i]
		}
	}
	g.pos = make([]int, p.N+1)
	for i, id := range g.perm {
		g.pos[id] = i
	}
	return g
}

// neighbours returns id's neighbours in ascending order.
func (g *graph) neighbours(id ClientID) []ClientID {
	out := make([]ClientID, 0, g.k)
	if g.k >= g.n-1 {
		for j := 1; j <= g.n; j++ {
			if ClientID(j) != id {
				out = append(out, ClientID(j))
			}
		}
		return out
	}
	p := g.pos[id]
	for d := 1; d <= g.k/2; d++ {
		out = append(out, g.perm[(p+d)%g.n], g.perm[(p-d+g.n)%g.n])
	}
	slices.Sort(out)
	return out
}

// adjacent reports whether a and b are neighbours.
func (g *graph) adjacent(a, b ClientID) bool {
	if a == b {
		return false
	}
	if g.k >= g.n-1 {
		return true
	}
	d := g.pos[a] - g.pos[b]
	if d < 0 {
		d = -d
	}
	d = min(d, g.n-d)
	return d <= g.k/2
}

// Neighbours returns the neighbours of id in the round described by p, in
// ascending order.
func Neighbours(p Params, id ClientID) ([]ClientID, error) {
	if err := p.Validate(); err != nil {
		return nil, err
	}
	if !p.valid(id) {
		return nil, fmt.Errorf("%w: client id %d out of range 1..%d", ErrParams, id, p.N)
	}
	return newGraph(p).neighbours(id), nil
}

// hashStream is SHA-256 in counter mode: block i = SHA-256(prefix || u64le(i)).
type hashStream struct {
	prefix []byte
	ctr    uint64
	buf    []byte
}

func newHashStream(prefix []byte) *hashStream { return &hashStream{prefix: prefix} }

func (h *hashStream) uint64() uint64 {
	if len(h.buf) < 8 {
		s := sha256.Sum256(binary.LittleEndian.AppendUint64(slices.Clip(h.prefix), h.ctr))
		h.ctr++
		h.buf = s[:]
	}
	v := binary.LittleEndian.Uint64(h.buf)
	h.buf = h.buf[8:]
	return v
}

// intn returns a uniform integer in [0, n) by rejection sampling.
func (h *hashStream) intn(n int) int {
	lim := ^uint64(0) - ^uint64(0)%uint64(n)
	for {
		if v := h.uint64(); v < lim {
			return int(v % uint64(n))
		}
	}
}
