package secagg

import (
	"bytes"
	"crypto/ecdh"
	"crypto/ed25519"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"slices"

	"github.com/cloudflare/circl/group"
	"github.com/murmur-fl/murmur/secagg/encode"
	"github.com/murmur-fl/murmur/secagg/internal/prg"
)

// maskPRG is the keystream used for masks (chosen by measurement, SPEC.md).
const maskPRG = prg.AES256CTR

type clientStage uint8

const (
	cAdvertise clientStage = iota // waiting for KeyList
	cShares                       // waiting for SharesFor
	cSurvivors                    // waiting for SurvivorList
	cUnmask                       // waiting for UnmaskRequest
	cDone
	cAborted
)

// Client is one device's side of a round. It is deterministic given its
// seed and the messages it receives, which is what makes MarshalBinary
// small and every reply repeatable. Not safe for concurrent use.
type Client struct {
	p     Params
	g     *graph
	id    ClientID
	seed  [32]byte
	input []uint64

	encSK, maskSK *ecdh.PrivateKey
	signSK        ed25519.PrivateKey
	r, b          group.Scalar
	pub           PublicKeys

	stage   clientStage
	abort   error
	history [][]byte // accepted server messages, in order
	reply   []byte   // reply to the last accepted message (Start's reply first)

	sid   [32]byte
	keys  map[ClientID]PublicKeys // listed neighbours
	encSh map[ClientID][]byte     // X25519 share-channel secrets with them
	held  map[ClientID]heldShares // neighbours whose shares we hold (their U2 membership)
	// rejected are the neighbours in U2 whose shares did not open (Rejected).
	rejected map[ClientID]error
	surv     []byte // the SurvivorList we signed
	survIn   map[ClientID]bool

	// Revealed records what this client revealed per peer; tests read it.
	revealed map[ClientID]uint8
}

type heldShares struct{ r, b [32]byte }

// NewClient creates client id of the round with the given input in Z_2^B
// (length p.Len). rng supplies the client's 32-byte seed (use crypto/rand;
// a fixed reader makes a reproducible client for tests and vectors).
func NewClient(p Params, id ClientID, input []uint64, rng io.Reader) (*Client, error) {
	var seed [32]byte
	if _, err := io.ReadFull(rng, seed[:]); err != nil {
		return nil, fmt.Errorf("secagg: reading client seed: %w", err)
	}
	return newClient(p, id, slices.Clone(input), seed)
}

// newClient takes ownership of input.
func newClient(p Params, id ClientID, input []uint64, seed [32]byte) (*Client, error) {
	if err := p.Validate(); err != nil {
		return nil, err
	}
	if !p.valid(id) {
		return nil, fmt.Errorf("%w: client id %d out of range 1..%d", ErrParams, id, p.N)
	}
	if len(input) != p.Len {
		return nil, fmt.Errorf("%w: input length %d, want Len %d", ErrParams, len(input), p.Len)
	}
	m := p.mask()
	for i, v := range input {
		if v&^m != 0 {
			return nil, fmt.Errorf("%w: input element %d = %d is not below 2^%d", ErrParams, i, v, p.ModBits)
		}
	}
	c := &Client{p: p, g: newGraph(p), id: id, seed: seed, input: input, revealed: map[ClientID]uint8{}}
	rs := clientStream(&c.seed, "keys")
	var k [32]byte
	io.ReadFull(rs, k[:])
	c.encSK, _ = ecdh.X25519().NewPrivateKey(k[:])
	io.ReadFull(rs, k[:])
	c.signSK = ed25519.NewKeyFromSeed(k[:])
	c.r = randomScalar(rs)
	c.b = randomScalar(rs)
	c.maskSK = maskKey(p, c.r)
	copy(c.pub.Enc[:], c.encSK.PublicKey().Bytes())
	copy(c.pub.Mask[:], c.maskSK.PublicKey().Bytes())
	copy(c.pub.Sign[:], c.signSK.Public().(ed25519.PublicKey))
	c.reply, _ = (&AdvertiseKeys{RoundID: p.RoundID, From: id, Keys: c.pub}).MarshalBinary()
	return c, nil
}

// ID returns the client's id.
func (c *Client) ID() ClientID { return c.id }

// Start returns the client's first message (AdvertiseKeys). It may be
// called again (after a reconnect) and returns the same bytes.
func (c *Client) Start() []byte {
	adv, _ := (&AdvertiseKeys{RoundID: c.p.RoundID, From: c.id, Keys: c.pub}).MarshalBinary()
	return adv
}

// Done reports whether the client has sent its last message.
func (c *Client) Done() bool { return c.stage == cDone }

// Err returns why the client aborted, or nil.
func (c *Client) Err() error { return c.abort }

// Handle processes one server message and returns the reply to send. A
// repeat of the last message returns the same reply again. An error leaves
// the state unchanged, except that evidence of a lying server or a round
// below threshold aborts the client for good (Err reports it).
//
// In js/wasm the masking awaits WebCrypto, so call Handle from a goroutine,
// never synchronously inside a js.FuncOf callback (that would deadlock).
//
// A device that saves its state must save it (MarshalBinary) after Handle
// returns and before sending the reply: a client rolled back to an older
// state could be shown a second survivor list and reveal the other kind of
// share.
func (c *Client) Handle(msg []byte) ([]byte, error) {
	if c.stage == cAborted {
		return nil, fmt.Errorf("%w: client %d: %w", ErrAborted, c.id, c.abort)
	}
	if n := len(c.history); n > 0 && bytes.Equal(msg, c.history[n-1]) {
		return slices.Clone(c.reply), nil
	}
	m, err := Parse(msg)
	if err != nil {
		return nil, err
	}
	if m.Round() != c.p.RoundID {
		return nil, fmt.Errorf("%w: %v for round %d, this is round %d", ErrSession, m.Type(), m.Round(), c.p.RoundID)
	}
	var reply []byte
	switch m := m.(type) {
	case *Abort:
		c.stage, c.abort = cAborted, fmt.Errorf("%w by server: %s", ErrAborted, m.Reason)
		return nil, c.abort
	case *KeyList:
		if c.stage != cAdvertise {
			break
		}
		reply, err = c.onKeyList(m, msg)
	case *SharesFor:
		if c.stage != cShares {
			break
		}
		reply, err = c.onShares(m)
	case *SurvivorList:
		if c.stage != cSurvivors {
			break
		}
		reply, err = c.onSurvivors(m, msg)
	case *UnmaskRequest:
		if c.stage != cUnmask {
			break
		}
		reply, err = c.onUnmask(m)
	}
	if err != nil {
		if errors.Is(err, ErrInconsistent) || errors.Is(err, ErrTooFewSurvivors) {
			c.stage, c.abort = cAborted, err
		}
		return nil, err
	}
	if reply == nil {
		return nil, fmt.Errorf("%w: client %d got %v in stage %d", ErrStage, c.id, m.Type(), c.stage)
	}
	c.history = append(c.history, slices.Clone(msg))
	c.reply = reply
	c.stage++
	return slices.Clone(reply), nil
}

func (c *Client) onKeyList(m *KeyList, raw []byte) ([]byte, error) {
	keys := map[ClientID]PublicKeys{}
	self := false
	for _, e := range m.Keys {
		if !c.p.valid(e.ID) {
			return nil, fmt.Errorf("%w: KeyList names client %d, round has %d", ErrMalformed, e.ID, c.p.N)
		}
		if e.ID == c.id {
			if e.Keys != c.pub {
				return nil, fmt.Errorf("%w: KeyList carries wrong keys for this client %d", ErrInconsistent, c.id)
			}
			self = true
		} else if c.g.adjacent(c.id, e.ID) {
			keys[e.ID] = e.Keys
		}
	}
	if !self {
		return nil, fmt.Errorf("%w: KeyList does not include this client %d", ErrMalformed, c.id)
	}
	if len(keys) < c.p.Threshold {
		return nil, fmt.Errorf("%w: client %d has %d neighbours with keys, threshold %d", ErrTooFewSurvivors, c.id, len(keys), c.p.Threshold)
	}
	sid := sessionID(c.p, raw)
	rs := clientStream(&c.seed, "shamir")
	dr := newDealer(rs, c.p.Threshold, c.r)
	db := newDealer(rs, c.p.Threshold, c.b)
	out := &ShareKeys{RoundID: c.p.RoundID, From: c.id}
	encSh := map[ClientID][]byte{}
	for _, j := range sortedKeys(keys) {
		pk := keys[j]
		shared, err := ecdhWith(c.encSK, pk.Enc, j)
		if err != nil {
			return nil, err
		}
		encSh[j] = shared
		a, nonce, ad := shareAEAD(&sid, shared, c.id, j)
		pt := make([]byte, 0, 72)
		pt = putID(putID(pt, c.id), j)
		rsh, bsh := dr.share(j), db.share(j)
		pt = append(append(pt, rsh[:]...), bsh[:]...)
		e := EncryptedShare{Peer: j}
		a.Seal(e.Ciphertext[:0], nonce, pt, ad)
		out.Shares = append(out.Shares, e)
	}
	c.sid, c.keys, c.encSh = sid, keys, encSh
	return out.MarshalBinary()
}

func (c *Client) onShares(m *SharesFor) ([]byte, error) {
	if m.To != c.id {
		return nil, fmt.Errorf("%w: SharesFor addressed to %d, this is client %d", ErrMalformed, m.To, c.id)
	}
	held := map[ClientID]heldShares{}
	rejected := map[ClientID]error{}
	terms := []prg.Term{{Seed: selfMaskSeed(&c.sid, c.b)}}
	for _, s := range m.Shares {
		pk, ok := c.keys[s.Peer]
		if !ok {
			return nil, fmt.Errorf("%w: share from client %d, which is not a listed neighbour of %d", ErrMalformed, s.Peer, c.id)
		}
		// The pair mask depends only on the advertised keys, so it is added
		// even when the peer's share below is unusable: the server counts
		// every peer it routed shares from as having shared keys, and
		// removes or expects the mask accordingly.
		ms, err := ecdhWith(c.maskSK, pk.Mask, s.Peer)
		if err != nil {
			return nil, err
		}
		// The lower id adds the pairwise mask, the higher subtracts it.
		terms = append(terms, prg.Term{Seed: pairMaskSeed(&c.sid, ms), Sub: c.id > s.Peer})
		h, err := c.openShare(s)
		if err != nil {
			// A corrupt (or malicious) peer must not stall this client:
			// hold nothing of it, so nothing of it is ever revealed, and go
			// on. The other neighbours' shares still recover its secrets.
			rejected[s.Peer] = err
			continue
		}
		held[s.Peer] = h
	}
	if len(held) < c.p.Threshold {
		if len(m.Shares) >= c.p.Threshold {
			// Enough peers, but their shares do not open: most likely the
			// whole message belongs to another session. Refuse it and keep
			// waiting for the right one.
			first := rejected[sortedKeys(rejected)[0]]
			return nil, fmt.Errorf("%w: client %d can open %d of %d shares, threshold %d (first failure: %v)",
				ErrSession, c.id, len(held), len(m.Shares), c.p.Threshold, first)
		}
		return nil, fmt.Errorf("%w: client %d holds shares of %d neighbours, threshold %d", ErrTooFewSurvivors, c.id, len(held), c.p.Threshold)
	}
	y := make([]uint64, len(c.input))
	prg.ApplyAllTo(maskPRG, y, c.input, terms, c.p.ModBits)
	c.held, c.rejected = held, rejected
	return (&MaskedInput{RoundID: c.p.RoundID, From: c.id, ModBits: c.p.ModBits, Vector: y}).MarshalBinary()
}

// openShare decrypts and checks the shares peer s.Peer sent this client.
func (c *Client) openShare(s EncryptedShare) (heldShares, error) {
	var h heldShares
	a, nonce, ad := shareAEAD(&c.sid, c.encSh[s.Peer], s.Peer, c.id)
	pt, err := a.Open(nil, nonce, s.Ciphertext[:], ad)
	if err != nil {
		return h, fmt.Errorf("%w: share from client %d does not decrypt for this session", ErrSession, s.Peer)
	}
	if ClientID(binary.LittleEndian.Uint32(pt)) != s.Peer || ClientID(binary.LittleEndian.Uint32(pt[4:])) != c.id {
		return h, fmt.Errorf("%w: share from client %d names the wrong parties", ErrMalformed, s.Peer)
	}
	copy(h.r[:], pt[8:40])
	copy(h.b[:], pt[40:72])
	if _, err := parseScalar(h.r[:]); err != nil {
		return h, fmt.Errorf("share from client %d: %w", s.Peer, err)
	}
	if _, err := parseScalar(h.b[:]); err != nil {
		return h, fmt.Errorf("share from client %d: %w", s.Peer, err)
	}
	return h, nil
}

// Rejected reports the neighbours whose encrypted shares this client could
// not use (they did not decrypt, named the wrong parties or held invalid
// scalars), with the reason. Such a peer is corrupt (or its ciphertext was
// tampered with on the way): the client holds and reveals nothing of it
// but still masks against it, so the round goes on. A device may report
// these ids to the operator.
func (c *Client) Rejected() map[ClientID]error {
	out := make(map[ClientID]error, len(c.rejected))
	for id, err := range c.rejected {
		out[id] = err
	}
	return out
}

func (c *Client) onSurvivors(m *SurvivorList, raw []byte) ([]byte, error) {
	in := map[ClientID]bool{}
	live := 0
	for _, id := range m.IDs {
		if !c.p.valid(id) {
			return nil, fmt.Errorf("%w: SurvivorList names client %d, round has %d", ErrMalformed, id, c.p.N)
		}
		in[id] = true
		if c.g.adjacent(c.id, id) {
			_, ok := c.held[id]
			if _, bad := c.rejected[id]; !ok && !bad {
				return nil, fmt.Errorf("%w: survivor %d never sent this client %d its shares", ErrInconsistent, id, c.id)
			}
			live++
		}
	}
	if !in[c.id] {
		return nil, fmt.Errorf("%w: SurvivorList omits this client %d", ErrMalformed, c.id)
	}
	if live < c.p.Threshold {
		return nil, fmt.Errorf("%w: client %d has %d surviving neighbours, threshold %d", ErrTooFewSurvivors, c.id, live, c.p.Threshold)
	}
	var sig ConsistencySig
	sig.RoundID, sig.From = c.p.RoundID, c.id
	copy(sig.Sig[:], ed25519.Sign(c.signSK, survivorsMessage(&c.sid, raw)))
	c.surv, c.survIn = slices.Clone(raw), in
	return sig.MarshalBinary()
}

func (c *Client) onUnmask(m *UnmaskRequest) ([]byte, error) {
	if m.To != c.id {
		return nil, fmt.Errorf("%w: UnmaskRequest addressed to %d, this is client %d", ErrMalformed, m.To, c.id)
	}
	msg := survivorsMessage(&c.sid, c.surv)
	for _, s := range m.Sigs {
		pk, ok := c.keys[s.ID]
		if !ok || !c.survIn[s.ID] {
			return nil, fmt.Errorf("%w: signature from %d, not a surviving neighbour of %d", ErrInconsistent, s.ID, c.id)
		}
		if !ed25519.Verify(pk.Sign[:], msg, s.Sig[:]) {
			return nil, fmt.Errorf("%w: client %d signed a different survivor list than client %d", ErrInconsistent, s.ID, c.id)
		}
	}
	if len(m.Sigs) < c.p.Threshold {
		return nil, fmt.Errorf("%w: client %d got %d neighbour signatures, threshold %d", ErrTooFewSurvivors, c.id, len(m.Sigs), c.p.Threshold)
	}
	out := &UnmaskShares{RoundID: c.p.RoundID, From: c.id}
	for _, j := range sortedKeys(c.held) {
		h := c.held[j]
		rs := RevealedShare{Peer: j, Kind: KindMaskKey, Share: h.r}
		if c.survIn[j] {
			rs = RevealedShare{Peer: j, Kind: KindSelfMask, Share: h.b}
		}
		if k, ok := c.revealed[j]; ok && k != rs.Kind {
			// Unreachable by construction; kept as the last line of defence.
			panic("secagg: client would reveal both shares of one peer")
		}
		c.revealed[j] = rs.Kind
		out.Shares = append(out.Shares, rs)
	}
	return out.MarshalBinary()
}

func sortedKeys[V any](m map[ClientID]V) []ClientID {
	ks := make([]ClientID, 0, len(m))
	for k := range m {
		ks = append(ks, k)
	}
	slices.Sort(ks)
	return ks
}

// MarshalBinary saves the client so a device that restarts can continue the
// round: params, id, seed, input and the server messages accepted so far.
// It contains the client's secrets: store it as such.
//
// Layout: "MSAC" | version u8 | stage u8 | params (32 bytes) | id u32 |
// seed [32] | input (PackedLen(Len, ModBits) bytes, B-bit packed) |
// count u32 | count × (len u32 | message).
func (c *Client) MarshalBinary() ([]byte, error) {
	b := append([]byte("MSAC"), version, byte(c.stage))
	b = c.p.encode(b)
	b = putID(b, c.id)
	b = append(b, c.seed[:]...)
	b = encode.Pack(b, c.input, c.p.ModBits)
	b = binary.LittleEndian.AppendUint32(b, uint32(len(c.history)))
	for _, h := range c.history {
		b = binary.LittleEndian.AppendUint32(b, uint32(len(h)))
		b = append(b, h...)
	}
	return b, nil
}

// RestoreClient rebuilds a client saved by MarshalBinary by replaying the
// messages it had accepted; the result continues exactly where it stopped.
func RestoreClient(b []byte) (*Client, error) {
	bad := func(what string) error { return fmt.Errorf("%w: client state: %s", ErrMalformed, what) }
	if len(b) < 4+2+32+4+32 || string(b[:4]) != "MSAC" || b[4] != version {
		return nil, bad("bad header")
	}
	stage := clientStage(b[5])
	r := &reader{b: b[6:], t: 0}
	var p Params
	p.RoundID = binary.LittleEndian.Uint64(r.bytes(8, "round"))
	p.N, p.Threshold, p.Degree = int(r.u32("N")), int(r.u32("T")), int(r.u32("K"))
	p.ModBits, p.Len = int(r.u32("B")), int(r.u32("Len"))
	if r.u32("pad") != 0 {
		return nil, bad("nonzero padding after params")
	}
	if err := p.Validate(); err != nil {
		return nil, err
	}
	id := ClientID(r.u32("id"))
	var seed [32]byte
	r.arr32(&seed, "seed")
	if r.err != nil {
		return nil, r.err
	}
	in, err := encode.Unpack(nil, r.bytes(min(encode.PackedLen(p.Len, p.ModBits), len(r.b)), "input"), p.Len, p.ModBits)
	if err != nil {
		return nil, bad(err.Error())
	}
	c, err := newClient(p, id, in, seed)
	if err != nil {
		return nil, err
	}
	n := r.count(4, "history")
	for range n {
		l := int(r.u32("message length"))
		h := r.bytes(l, "message")
		if r.err != nil {
			return nil, r.err
		}
		if _, err := c.Handle(h); err != nil {
			return nil, fmt.Errorf("secagg: replaying saved client: %w", err)
		}
	}
	if err := r.end(); err != nil {
		return nil, err
	}
	if stage == cAborted {
		c.stage, c.abort = cAborted, fmt.Errorf("%w: restored a client that had aborted", ErrAborted)
	}
	if c.stage != stage {
		return nil, bad(fmt.Sprintf("replay reached stage %d, saved stage %d", c.stage, stage))
	}
	return c, nil
}
