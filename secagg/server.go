package secagg

import (
	"bytes"
	"crypto/ecdh"
	"crypto/ed25519"
	"crypto/sha256"
	"encoding/binary"
	"fmt"
	"math/rand/v2"
	"runtime"
	"slices"
	"sync"

	"github.com/cloudflare/circl/group"
	"github.com/murmur-fl/murmur/secagg/internal/prg"
)

// Stage is the server's current stage.
type Stage uint8

// Server stages, in order. In each of the first five the server collects
// one kind of client message; Advance closes it.
const (
	StageAdvertise   Stage = iota // collecting AdvertiseKeys
	StageShareKeys                // collecting ShareKeys
	StageMaskedInput              // collecting MaskedInput
	StageConsistency              // collecting ConsistencySig
	StageUnmask                   // collecting UnmaskShares
	StageDone                     // Result is available
	StageAborted                  // the round failed; Err says why
)

func (s Stage) String() string {
	names := [...]string{"advertise", "share-keys", "masked-input", "consistency", "unmask", "done", "aborted"}
	if int(s) < len(names) {
		return names[s]
	}
	return fmt.Sprintf("Stage(%d)", uint8(s))
}

var stageInput = [...]MsgType{TypeAdvertiseKeys, TypeShareKeys, TypeMaskedInput, TypeConsistencySig, TypeUnmaskShares}

// Server is the aggregator's side of a round. It holds one running sum of
// masked inputs (not one vector per client). Not safe for concurrent use.
type Server struct {
	p     Params
	g     *graph
	stage Stage
	err   error

	keys     map[ClientID]PublicKeys // U1
	advRaw   map[ClientID][]byte
	keyList  []byte
	sid      [32]byte
	shares   map[ClientID]*ShareKeys // U2
	shareRaw map[ClientID][32]byte
	masked   map[ClientID][32]byte // U3: digest of each accepted MaskedInput
	sum      []uint64
	survRaw  []byte
	u3       []ClientID
	sigs     map[ClientID][sigLen]byte // U4
	unmask   map[ClientID]*UnmaskShares
	unmRaw   map[ClientID][32]byte

	log   []logEntry // what MarshalBinary saves
	added bool       // the current Handle changed the state
}

// NewServer starts a round.
func NewServer(p Params) (*Server, error) {
	if err := p.Validate(); err != nil {
		return nil, err
	}
	return &Server{
		p: p, g: newGraph(p),
		keys: map[ClientID]PublicKeys{}, advRaw: map[ClientID][]byte{},
		shares: map[ClientID]*ShareKeys{}, shareRaw: map[ClientID][32]byte{},
		masked: map[ClientID][32]byte{}, sum: make([]uint64, p.Len),
		sigs: map[ClientID][sigLen]byte{}, unmask: map[ClientID]*UnmaskShares{}, unmRaw: map[ClientID][32]byte{},
	}, nil
}

// Stage returns the current stage.
func (s *Server) Stage() Stage { return s.stage }

// Err returns why the round aborted, or nil.
func (s *Server) Err() error { return s.err }

// Handle accepts one message from client from (as authenticated by the
// transport). A message repeated verbatim is accepted again without effect;
// any error leaves the state unchanged.
func (s *Server) Handle(from ClientID, msg []byte) error {
	if s.stage >= StageDone {
		return fmt.Errorf("%w: round is %v", ErrStage, s.stage)
	}
	if !s.p.valid(from) {
		return fmt.Errorf("%w: sender %d out of range 1..%d", ErrMalformed, from, s.p.N)
	}
	var m Message
	var err error
	var digest [32]byte
	var packed []byte         // a MaskedInput's vector, still packed
	var n int                 // its length
	var hashing chan struct{} // closed when digest is ready
	if len(msg) > 1 && MsgType(msg[1]) == TypeMaskedInput {
		// The big one: hash it on another core while checking it and
		// adding it to the sum (the digest is needed only afterwards,
		// or first for a second message from the same client), and keep
		// the vector packed until it is added.
		hashing = make(chan struct{})
		go func() {
			digest = sha256.Sum256(msg)
			close(hashing)
		}()
		defer func() { <-hashing }() // never return while it runs
		mi := &MaskedInput{}
		packed, n, err = mi.unmarshalPacked(msg)
		m = mi
	} else {
		m, err = Parse(msg)
	}
	if err != nil {
		return fmt.Errorf("from client %d: %w", from, err)
	}
	if m.Round() != s.p.RoundID {
		return fmt.Errorf("%w: %v from client %d is for round %d, this is round %d", ErrSession, m.Type(), from, m.Round(), s.p.RoundID)
	}
	if m.Type() != stageInput[s.stage] {
		return fmt.Errorf("%w: %v from client %d during stage %v", ErrStage, m.Type(), from, s.stage)
	}
	digestOf := func() [32]byte {
		if hashing != nil {
			<-hashing
		}
		return digest
	}
	if hashing == nil {
		digest = sha256.Sum256(msg)
	}
	s.added = false
	defer func() {
		if s.added {
			if m.Type() == TypeMaskedInput {
				d := digestOf()
				s.log = append(s.log, logEntry{logMasked, from, d[:]})
			} else {
				s.log = append(s.log, logEntry{logMessage, from, slices.Clone(msg)})
			}
		}
	}()
	switch m := m.(type) {
	case *AdvertiseKeys:
		if m.From != from {
			return fmt.Errorf("%w: AdvertiseKeys from %d claims to be from %d", ErrMalformed, from, m.From)
		}
		if old, ok := s.advRaw[from]; ok {
			return dup(bytes.Equal(old, msg), from, m.Type())
		}
		if err := checkX25519(m.Keys.Enc, from); err != nil {
			return err
		}
		if err := checkX25519(m.Keys.Mask, from); err != nil {
			return err
		}
		s.keys[from], s.advRaw[from] = m.Keys, slices.Clone(msg)
		s.added = true
	case *ShareKeys:
		return s.onShareKeys(from, m, digest)
	case *MaskedInput:
		return s.onMasked(from, m, packed, n, digestOf)
	case *ConsistencySig:
		return s.onSig(from, m)
	case *UnmaskShares:
		return s.onUnmask(from, m, digest)
	}
	return nil
}

// probeKey is a fixed X25519 key used only to reject low-order public keys
// (ECDH with them yields zero), which would make every neighbour of the
// sender fail later.
var probeKey, _ = ecdh.X25519().NewPrivateKey(bytes.Repeat([]byte{0x5a}, 32))

func checkX25519(pub [32]byte, from ClientID) error {
	_, err := ecdhWith(probeKey, pub, from)
	return err
}

func dup(same bool, from ClientID, t MsgType) error {
	if same {
		return nil
	}
	return fmt.Errorf("%w: client %d sent a second, different %v", ErrMalformed, from, t)
}

func (s *Server) onShareKeys(from ClientID, m *ShareKeys, digest [32]byte) error {
	if m.From != from {
		return fmt.Errorf("%w: ShareKeys from %d claims to be from %d", ErrMalformed, from, m.From)
	}
	if _, ok := s.keys[from]; !ok {
		return fmt.Errorf("%w: ShareKeys from %d, which did not advertise keys", ErrStage, from)
	}
	if old, ok := s.shareRaw[from]; ok {
		return dup(old == digest, from, m.Type())
	}
	want := liveNeighboursIn(s.g, from, s.keys)
	got := make([]ClientID, len(m.Shares))
	for i, e := range m.Shares {
		got[i] = e.Peer
	}
	if !slices.Equal(got, want) {
		return fmt.Errorf("%w: ShareKeys from %d addresses %v, want its advertised neighbours %v", ErrMalformed, from, got, want)
	}
	s.shares[from], s.shareRaw[from] = m, digest
	s.added = true
	return nil
}

func (s *Server) onMasked(from ClientID, m *MaskedInput, packed []byte, n int, digestOf func() [32]byte) error {
	if m.From != from {
		return fmt.Errorf("%w: MaskedInput from %d claims to be from %d", ErrMalformed, from, m.From)
	}
	if _, ok := s.shares[from]; !ok {
		return fmt.Errorf("%w: MaskedInput from %d, which did not share keys", ErrStage, from)
	}
	if old, ok := s.masked[from]; ok {
		return dup(old == digestOf(), from, m.Type())
	}
	if m.ModBits != s.p.ModBits || n != s.p.Len {
		return fmt.Errorf("%w: MaskedInput from %d has %d elements of %d bits, want %d of %d",
			ErrMalformed, from, n, m.ModBits, s.p.Len, s.p.ModBits)
	}
	addPacked(s.sum, packed, n, s.p.ModBits)
	s.masked[from] = digestOf()
	s.added = true
	return nil
}

func (s *Server) onSig(from ClientID, m *ConsistencySig) error {
	if m.From != from {
		return fmt.Errorf("%w: ConsistencySig from %d claims to be from %d", ErrMalformed, from, m.From)
	}
	if _, ok := s.masked[from]; !ok {
		return fmt.Errorf("%w: ConsistencySig from %d, which is not a survivor", ErrStage, from)
	}
	if old, ok := s.sigs[from]; ok {
		return dup(old == m.Sig, from, m.Type())
	}
	pk := s.keys[from].Sign
	if !ed25519.Verify(pk[:], survivorsMessage(&s.sid, s.survRaw), m.Sig[:]) {
		return fmt.Errorf("%w: ConsistencySig from %d does not verify", ErrMalformed, from)
	}
	s.sigs[from] = m.Sig
	s.added = true
	return nil
}

func (s *Server) onUnmask(from ClientID, m *UnmaskShares, digest [32]byte) error {
	if m.From != from {
		return fmt.Errorf("%w: UnmaskShares from %d claims to be from %d", ErrMalformed, from, m.From)
	}
	if _, ok := s.sigs[from]; !ok {
		return fmt.Errorf("%w: UnmaskShares from %d, which did not pass the consistency check", ErrStage, from)
	}
	if old, ok := s.unmRaw[from]; ok {
		return dup(old == digest, from, m.Type())
	}
	// One share per neighbour that shared keys, except that an honest
	// client leaves out the peers whose encrypted shares it rejected
	// (Client.Rejected): any ascending subset of them is accepted, and
	// recovery counts the shares each secret actually got.
	want := liveNeighboursIn(s.g, from, s.shares)
	k := 0
	for _, e := range m.Shares {
		for k < len(want) && want[k] < e.Peer {
			k++
		}
		if k == len(want) || want[k] != e.Peer {
			return fmt.Errorf("%w: UnmaskShares from %d: share for %d, which is not one of its neighbours that shared keys %v",
				ErrMalformed, from, e.Peer, want)
		}
		kind := uint8(KindMaskKey)
		if _, ok := s.masked[e.Peer]; ok {
			kind = KindSelfMask
		}
		if e.Kind != kind {
			return fmt.Errorf("%w: UnmaskShares from %d: share kind %d for %d, want %d", ErrMalformed, from, e.Kind, e.Peer, kind)
		}
		if _, err := parseScalar(e.Share[:]); err != nil {
			return fmt.Errorf("UnmaskShares from %d, share for %d: %w", from, e.Peer, err)
		}
	}
	s.unmask[from], s.unmRaw[from] = m, digest
	s.added = true
	return nil
}

// liveNeighboursIn lists id's neighbours present in set, ascending.
func liveNeighboursIn[V any](g *graph, id ClientID, set map[ClientID]V) []ClientID {
	var out []ClientID
	for _, j := range g.neighbours(id) {
		if _, ok := set[j]; ok {
			out = append(out, j)
		}
	}
	return out
}

// checkAlive aborts the stage when the set is empty or one of its members
// has fewer than Threshold neighbours in it.
func checkAlive[V any](s *Server, set map[ClientID]V) error {
	if len(set) == 0 {
		return fmt.Errorf("%w: stage %v: no client answered", ErrTooFewSurvivors, s.stage)
	}
	for _, i := range sortedKeys(set) {
		if n := len(liveNeighboursIn(s.g, i, set)); n < s.p.Threshold {
			return fmt.Errorf("%w: stage %v: client %d has %d live neighbours, threshold %d (%d of %d clients answered)",
				ErrTooFewSurvivors, s.stage, i, n, s.p.Threshold, len(set), s.p.N)
		}
	}
	return nil
}

// Advance closes the current stage: every client that has not answered by
// now counts as dropped. It returns the message for each client that goes
// on. After the unmask stage it computes the result and returns no
// messages. When the round cannot continue it returns an Abort message for
// the clients still in it, and the error.
func (s *Server) Advance() (map[ClientID][]byte, error) {
	if s.stage < StageDone {
		s.log = append(s.log, logEntry{kind: logAdvance})
	}
	var out map[ClientID][]byte
	var err error
	switch s.stage {
	case StageAdvertise:
		out, err = s.closeAdvertise()
	case StageShareKeys:
		out, err = s.closeShareKeys()
	case StageMaskedInput:
		out, err = s.closeMasked()
	case StageConsistency:
		out, err = s.closeConsistency()
	case StageUnmask:
		err = s.closeUnmask()
	default:
		return nil, fmt.Errorf("%w: Advance in stage %v", ErrStage, s.stage)
	}
	if err != nil {
		return s.abortWith(err), err
	}
	s.stage++
	return out, nil
}

func (s *Server) abortWith(err error) map[ClientID][]byte {
	var live []ClientID
	switch s.stage {
	case StageAdvertise:
		live = sortedKeys(s.keys)
	case StageShareKeys:
		live = sortedKeys(s.shares)
	case StageMaskedInput:
		live = sortedKeys(s.masked)
	case StageConsistency:
		live = sortedKeys(s.sigs)
	case StageUnmask:
		live = sortedKeys(s.unmask)
	}
	s.stage, s.err = StageAborted, err
	reason := err.Error()
	if len(reason) > maxReason {
		reason = reason[:maxReason]
	}
	a, aerr := (&Abort{RoundID: s.p.RoundID, Reason: reason}).MarshalBinary()
	if aerr != nil {
		a, _ = (&Abort{RoundID: s.p.RoundID, Reason: "round aborted"}).MarshalBinary()
	}
	out := map[ClientID][]byte{}
	for _, id := range live {
		out[id] = a
	}
	return out
}

func (s *Server) closeAdvertise() (map[ClientID][]byte, error) {
	if err := checkAlive(s, s.keys); err != nil {
		return nil, err
	}
	kl := &KeyList{RoundID: s.p.RoundID}
	for _, id := range sortedKeys(s.keys) {
		kl.Keys = append(kl.Keys, KeyEntry{ID: id, Keys: s.keys[id]})
	}
	s.keyList, _ = kl.MarshalBinary()
	s.sid = sessionID(s.p, s.keyList)
	out := map[ClientID][]byte{}
	for id := range s.keys {
		out[id] = s.keyList
	}
	return out, nil
}

func (s *Server) closeShareKeys() (map[ClientID][]byte, error) {
	if err := checkAlive(s, s.shares); err != nil {
		return nil, err
	}
	inbox := map[ClientID]*SharesFor{}
	for id := range s.shares {
		inbox[id] = &SharesFor{RoundID: s.p.RoundID, To: id}
	}
	for _, from := range sortedKeys(s.shares) {
		for _, e := range s.shares[from].Shares {
			if box, ok := inbox[e.Peer]; ok {
				box.Shares = append(box.Shares, EncryptedShare{Peer: from, Ciphertext: e.Ciphertext})
			}
		}
	}
	out := map[ClientID][]byte{}
	for id, box := range inbox {
		out[id], _ = box.MarshalBinary()
	}
	return out, nil
}

func (s *Server) closeMasked() (map[ClientID][]byte, error) {
	if err := checkAlive(s, s.masked); err != nil {
		return nil, err
	}
	s.u3 = sortedKeys(s.masked)
	s.survRaw, _ = (&SurvivorList{RoundID: s.p.RoundID, IDs: s.u3}).MarshalBinary()
	out := map[ClientID][]byte{}
	for _, id := range s.u3 {
		out[id] = s.survRaw
	}
	return out, nil
}

func (s *Server) closeConsistency() (map[ClientID][]byte, error) {
	if err := checkAlive(s, s.sigs); err != nil {
		return nil, err
	}
	out := map[ClientID][]byte{}
	for id := range s.sigs {
		req := &UnmaskRequest{RoundID: s.p.RoundID, To: id}
		for _, j := range liveNeighboursIn(s.g, id, s.sigs) {
			req.Sigs = append(req.Sigs, SigEntry{ID: j, Sig: s.sigs[j]})
		}
		out[id], _ = req.MarshalBinary()
	}
	return out, nil
}

// closeUnmask reconstructs the self-mask seed of every survivor and the
// mask key of every client that shared keys but dropped before sending its
// masked input, then removes their masks from the sum.
func (s *Server) closeUnmask() error {
	if len(s.unmask) == 0 {
		return fmt.Errorf("%w: stage %v: no client answered", ErrTooFewSurvivors, s.stage)
	}
	type job struct {
		j    ClientID
		kind uint8
	}
	var jobs []job
	for _, j := range sortedKeys(s.shares) {
		if _, ok := s.masked[j]; ok {
			jobs = append(jobs, job{j, KindSelfMask})
		} else if len(liveNeighboursIn(s.g, j, s.masked)) > 0 {
			jobs = append(jobs, job{j, KindMaskKey})
		}
	}
	// Each job yields the mask terms to remove; run them on all cores.
	results := make([][]prg.Term, len(jobs))
	errs := make([]error, len(jobs))
	parallel(len(jobs), func(k int) {
		results[k], errs[k] = s.recoverTerms(jobs[k].j, jobs[k].kind)
	})
	var terms []prg.Term
	for k := range jobs {
		if errs[k] != nil {
			return errs[k]
		}
		terms = append(terms, results[k]...)
	}
	// Split the vector into aligned blocks and apply all terms per block.
	sum := s.sum
	workers := runtime.GOMAXPROCS(0)
	block := (len(sum)/workers/prg.Align + 1) * prg.Align
	parallel((len(sum)+block-1)/block, func(w int) {
		lo := w * block
		prg.ApplyAt(maskPRG, sum[lo:min(lo+block, len(sum))], lo, terms, s.p.ModBits)
	})
	return nil
}

func (s *Server) recoverTerms(j ClientID, kind uint8) ([]prg.Term, error) {
	var ids []ClientID
	var sh [][32]byte
	for _, i := range liveNeighboursIn(s.g, j, s.unmask) {
		for _, e := range s.unmask[i].Shares {
			if e.Peer == j {
				ids, sh = append(ids, i), append(sh, e.Share)
				break
			}
		}
	}
	what := map[uint8]string{KindSelfMask: "self-mask secret of survivor", KindMaskKey: "mask key of dropped client"}[kind]
	if len(ids) < s.p.Threshold {
		return nil, fmt.Errorf("%w: stage %v: %d shares of the %s %d, threshold %d",
			ErrTooFewSurvivors, s.stage, len(ids), what, j, s.p.Threshold)
	}
	secret, err := recoverSecret(s.p.Threshold, ids, sh)
	if err != nil {
		return nil, fmt.Errorf("secagg: recovering the %s %d: %w", what, j, err)
	}
	if kind == KindSelfMask {
		return []prg.Term{{Seed: selfMaskSeed(&s.sid, secret), Sub: true}}, nil
	}
	sk, ok := s.checkMaskKey(j, secret)
	if !ok {
		// Some of the shares are wrong (a corrupt client dealt them, or a
		// holder revealed a bad one). The advertised key tells a right
		// recovery apart, so try other threshold-subsets before giving up.
		sk, ok = s.retryMaskKey(j, ids, sh)
	}
	if !ok {
		return nil, fmt.Errorf("%w: shares of client %d's mask key do not match its advertised key (%d shares, no %d of them do)",
			ErrInconsistent, j, len(ids), s.p.Threshold)
	}
	var terms []prg.Term
	for _, i := range liveNeighboursIn(s.g, j, s.masked) {
		shared, err := ecdhWith(sk, s.keys[i].Mask, i)
		if err != nil {
			return nil, err
		}
		// Survivor i added the pair mask if i < j and subtracted it if
		// i > j; undo that.
		terms = append(terms, prg.Term{Seed: pairMaskSeed(&s.sid, shared), Sub: i < j})
	}
	return terms, nil
}

// checkMaskKey derives client j's mask key from a recovered secret and
// reports whether it is the key j advertised.
func (s *Server) checkMaskKey(j ClientID, secret group.Scalar) (*ecdh.PrivateKey, bool) {
	sk := maskKey(s.p, secret)
	pub := s.keys[j].Mask
	return sk, bytes.Equal(sk.PublicKey().Bytes(), pub[:])
}

// maskKeyRetries bounds retryMaskKey. With 3 bad shares among 30 and T = 17
// a random subset is clean with probability ~7%, so 200 tries miss with
// probability ~1e-6; each try costs ~0.3 ms.
const maskKeyRetries = 200

// retryMaskKey recovers client j's mask key from random threshold-subsets
// of its shares (deterministic per session and client, so a restored server
// finds the same) until one matches the advertised key.
func (s *Server) retryMaskKey(j ClientID, ids []ClientID, sh [][32]byte) (*ecdh.PrivateKey, bool) {
	t := s.p.Threshold
	if len(ids) <= t {
		return nil, false
	}
	rng := rand.New(rand.NewPCG(binary.LittleEndian.Uint64(s.sid[:]), uint64(j)))
	subIDs, subSh := make([]ClientID, t), make([][32]byte, t)
	for range maskKeyRetries {
		for k, x := range rng.Perm(len(ids))[:t] {
			subIDs[k], subSh[k] = ids[x], sh[x]
		}
		secret, err := recoverSecret(t, subIDs, subSh)
		if err != nil {
			continue
		}
		if sk, ok := s.checkMaskKey(j, secret); ok {
			return sk, true
		}
	}
	return nil, false
}

func parallel(n int, f func(int)) {
	w := min(n, runtime.GOMAXPROCS(0))
	var wg sync.WaitGroup
	next := make(chan int, n)
	for i := range n {
		next <- i
	}
	close(next)
	for range w {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := range next {
				f(i)
			}
		}()
	}
	wg.Wait()
}

// Result returns the sum mod 2^B of the survivors' inputs and the
// survivors' ids, once the round is done.
func (s *Server) Result() ([]uint64, []ClientID, error) {
	switch s.stage {
	case StageDone:
		return slices.Clone(s.sum), slices.Clone(s.u3), nil
	case StageAborted:
		return nil, nil, s.err
	}
	return nil, nil, fmt.Errorf("%w: no result in stage %v", ErrStage, s.stage)
}

// Pending lists the clients the current stage still waits for (ascending):
// a relay may call Advance early once it is empty.
func (s *Server) Pending() []ClientID {
	var want, have func(ClientID) bool
	switch s.stage {
	case StageAdvertise:
		want, have = func(ClientID) bool { return true }, in(s.keys)
	case StageShareKeys:
		want, have = in(s.keys), in(s.shares)
	case StageMaskedInput:
		want, have = in(s.shares), in(s.masked)
	case StageConsistency:
		want, have = in(s.masked), in(s.sigs)
	case StageUnmask:
		want, have = in(s.sigs), in(s.unmask)
	default:
		return nil
	}
	var out []ClientID
	for id := ClientID(1); int(id) <= s.p.N; id++ {
		if want(id) && !have(id) {
			out = append(out, id)
		}
	}
	return out
}

func in[V any](m map[ClientID]V) func(ClientID) bool {
	return func(id ClientID) bool { _, ok := m[id]; return ok }
}
