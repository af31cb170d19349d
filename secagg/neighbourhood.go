package secagg

import (
	"crypto/ed25519"
	"fmt"
	"slices"
)

// Neighbourhood plays the server and the neighbours of one client, so that
// client can be exercised alone (benchmarks, or checking another
// implementation of the client) without running a whole round. Every
// neighbour survives. The neighbours are real clients derived from seeds;
// only the server's routing is short-cut.
type Neighbourhood struct {
	p      Params
	id     ClientID
	nb     []*Client
	sid    [32]byte
	keyRaw []byte
	surv   []byte
}

// NewNeighbourhood creates the neighbours of client id, with zero inputs
// and seeds derived from seed.
func NewNeighbourhood(p Params, id ClientID, seed [32]byte) (*Neighbourhood, error) {
	ids, err := Neighbours(p, id)
	if err != nil {
		return nil, err
	}
	zero := make([]uint64, p.Len)
	h := &Neighbourhood{p: p, id: id}
	for _, j := range ids {
		s := kdf(seed[:], nil, fmt.Sprintf("neighbour/%d", j))
		c, err := newClient(p, j, zero, s)
		if err != nil {
			return nil, err
		}
		h.nb = append(h.nb, c)
	}
	return h, nil
}

// KeyList answers the client's AdvertiseKeys.
func (h *Neighbourhood) KeyList(adv []byte) ([]byte, error) {
	var a AdvertiseKeys
	if err := a.UnmarshalBinary(adv); err != nil {
		return nil, err
	}
	if a.From != h.id {
		return nil, fmt.Errorf("%w: AdvertiseKeys from %d, want %d", ErrMalformed, a.From, h.id)
	}
	kl := &KeyList{RoundID: h.p.RoundID}
	for _, c := range h.nb {
		kl.Keys = append(kl.Keys, KeyEntry{ID: c.id, Keys: c.pub})
	}
	kl.Keys = append(kl.Keys, KeyEntry{ID: a.From, Keys: a.Keys})
	slices.SortFunc(kl.Keys, func(x, y KeyEntry) int { return int(x.ID) - int(y.ID) })
	h.keyRaw, _ = kl.MarshalBinary()
	h.sid = sessionID(h.p, h.keyRaw)
	for _, c := range h.nb {
		c.sid = h.sid
		c.keys = map[ClientID]PublicKeys{a.From: a.Keys}
	}
	return h.keyRaw, nil
}

// SharesFor answers the client's ShareKeys with each neighbour's shares.
func (h *Neighbourhood) SharesFor(shareKeys []byte) ([]byte, error) {
	var sk ShareKeys
	if err := sk.UnmarshalBinary(shareKeys); err != nil {
		return nil, err
	}
	out := &SharesFor{RoundID: h.p.RoundID, To: h.id}
	for _, c := range h.nb {
		shared, err := ecdhWith(c.encSK, c.keys[h.id].Enc, h.id)
		if err != nil {
			return nil, err
		}
		rs := clientStream(&c.seed, "shamir")
		dr, db := newDealer(rs, h.p.Threshold, c.r), newDealer(rs, h.p.Threshold, c.b)
		a, nonce, ad := shareAEAD(&h.sid, shared, c.id, h.id)
		pt := putID(putID(nil, c.id), h.id)
		rsh, bsh := dr.share(h.id), db.share(h.id)
		pt = append(append(pt, rsh[:]...), bsh[:]...)
		e := EncryptedShare{Peer: c.id}
		a.Seal(e.Ciphertext[:0], nonce, pt, ad)
		out.Shares = append(out.Shares, e)
	}
	return out.MarshalBinary()
}

// SurvivorList answers the client's MaskedInput: everyone survived.
func (h *Neighbourhood) SurvivorList(masked []byte) ([]byte, error) {
	var m MaskedInput
	if err := m.UnmarshalBinary(masked); err != nil {
		return nil, err
	}
	ids := []ClientID{h.id}
	for _, c := range h.nb {
		ids = append(ids, c.id)
	}
	slices.Sort(ids)
	h.surv, _ = (&SurvivorList{RoundID: h.p.RoundID, IDs: ids}).MarshalBinary()
	return h.surv, nil
}

// UnmaskRequest answers the client's ConsistencySig with the neighbours'
// signatures over the same survivor list.
func (h *Neighbourhood) UnmaskRequest(sig []byte) ([]byte, error) {
	var s ConsistencySig
	if err := s.UnmarshalBinary(sig); err != nil {
		return nil, err
	}
	req := &UnmaskRequest{RoundID: h.p.RoundID, To: h.id}
	msg := survivorsMessage(&h.sid, h.surv)
	for _, c := range h.nb {
		e := SigEntry{ID: c.id}
		copy(e.Sig[:], ed25519.Sign(c.signSK, msg))
		req.Sigs = append(req.Sigs, e)
	}
	return req.MarshalBinary()
}
