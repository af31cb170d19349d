package secagg

import (
	"encoding/binary"
	"fmt"
	"runtime"
	"sync"
	"unicode/utf8"

	"github.com/murmur-fl/murmur/secagg/encode"
)

// MsgType is the second byte of every message.
type MsgType uint8

// Message types, in protocol order. c→s: client to server; s→c: server to client.
const (
	TypeAdvertiseKeys  MsgType = 1  // c→s stage 1
	TypeKeyList        MsgType = 2  // s→c, opens stage 2
	TypeShareKeys      MsgType = 3  // c→s stage 2
	TypeSharesFor      MsgType = 4  // s→c, opens stage 3
	TypeMaskedInput    MsgType = 5  // c→s stage 3
	TypeSurvivorList   MsgType = 6  // s→c, opens stage 4
	TypeConsistencySig MsgType = 7  // c→s stage 4
	TypeUnmaskRequest  MsgType = 8  // s→c, opens stage 5
	TypeUnmaskShares   MsgType = 9  // c→s stage 5
	TypeAbort          MsgType = 10 // s→c, any time
)

const (
	version     = 1
	headerLen   = 10 // version u8 | type u8 | round u64
	ctLen       = 88 // encrypted share: 72-byte plaintext + 16-byte GCM tag
	sigLen      = 64
	maxReason   = 1024
	shareLen    = 32
	keyEntryLen = 4 + 3*32
)

// Share kinds in UnmaskShares.
const (
	KindSelfMask = 1 // share of the self-mask secret b_j (peer survived)
	KindMaskKey  = 2 // share of the mask-key secret r_j (peer dropped)
)

// Message is one protocol message. Every type has a strict
// UnmarshalBinary; Parse decodes any of them.
type Message interface {
	Type() MsgType
	Round() uint64
	MarshalBinary() ([]byte, error)
}

// AdvertiseKeys publishes a client's per-round public keys.
type AdvertiseKeys struct {
	RoundID uint64
	From    ClientID
	Keys    PublicKeys
}

// PublicKeys are a client's per-round public keys.
type PublicKeys struct {
	Enc  [32]byte // X25519, for the share channel
	Mask [32]byte // X25519, for pairwise masks
	Sign [32]byte // Ed25519, for the consistency check
}

// KeyEntry is one advertised client in a KeyList.
type KeyEntry struct {
	ID   ClientID
	Keys PublicKeys
}

// KeyList is every advertised key, sorted by ID; the server sends the same
// list to all.
type KeyList struct {
	RoundID uint64
	Keys    []KeyEntry
}

// EncryptedShare is one AES-256-GCM encrypted pair of Shamir shares. Peer
// is the receiver in ShareKeys and the sender in SharesFor.
type EncryptedShare struct {
	Peer       ClientID
	Ciphertext [ctLen]byte
}

// ShareKeys carries a client's encrypted shares, one per neighbour.
type ShareKeys struct {
	RoundID uint64
	From    ClientID
	Shares  []EncryptedShare
}

// SharesFor carries the shares addressed to one client.
type SharesFor struct {
	RoundID uint64
	To      ClientID
	Shares  []EncryptedShare
}

// MaskedInput is a masked vector in Z_2^B, bit-packed at B bits.
type MaskedInput struct {
	RoundID uint64
	From    ClientID
	ModBits int
	Vector  []uint64
}

// SurvivorList is the set of clients whose masked input the server holds.
type SurvivorList struct {
	RoundID uint64
	IDs     []ClientID
}

// ConsistencySig is a client's Ed25519 signature over the survivor list.
type ConsistencySig struct {
	RoundID uint64
	From    ClientID
	Sig     [sigLen]byte
}

// SigEntry is one signature in an UnmaskRequest.
type SigEntry struct {
	ID  ClientID
	Sig [sigLen]byte
}

// UnmaskRequest gives a client its neighbours' survivor-list signatures.
type UnmaskRequest struct {
	RoundID uint64
	To      ClientID
	Sigs    []SigEntry
}

// RevealedShare is one Shamir share a client reveals for a peer.
type RevealedShare struct {
	Peer  ClientID
	Kind  uint8 // KindSelfMask or KindMaskKey
	Share [shareLen]byte
}

// UnmaskShares reveals, for each neighbour, exactly one kind of share.
type UnmaskShares struct {
	RoundID uint64
	From    ClientID
	Shares  []RevealedShare
}

// Abort tells a client the round is over without a result.
type Abort struct {
	RoundID uint64
	Reason  string
}

func (m *AdvertiseKeys) Type() MsgType  { return TypeAdvertiseKeys }
func (m *KeyList) Type() MsgType        { return TypeKeyList }
func (m *ShareKeys) Type() MsgType      { return TypeShareKeys }
func (m *SharesFor) Type() MsgType      { return TypeSharesFor }
func (m *MaskedInput) Type() MsgType    { return TypeMaskedInput }
func (m *SurvivorList) Type() MsgType   { return TypeSurvivorList }
func (m *ConsistencySig) Type() MsgType { return TypeConsistencySig }
func (m *UnmaskRequest) Type() MsgType  { return TypeUnmaskRequest }
func (m *UnmaskShares) Type() MsgType   { return TypeUnmaskShares }
func (m *Abort) Type() MsgType          { return TypeAbort }

func (m *AdvertiseKeys) Round() uint64  { return m.RoundID }
func (m *KeyList) Round() uint64        { return m.RoundID }
func (m *ShareKeys) Round() uint64      { return m.RoundID }
func (m *SharesFor) Round() uint64      { return m.RoundID }
func (m *MaskedInput) Round() uint64    { return m.RoundID }
func (m *SurvivorList) Round() uint64   { return m.RoundID }
func (m *ConsistencySig) Round() uint64 { return m.RoundID }
func (m *UnmaskRequest) Round() uint64  { return m.RoundID }
func (m *UnmaskShares) Round() uint64   { return m.RoundID }
func (m *Abort) Round() uint64          { return m.RoundID }

func header(t MsgType, round uint64, size int) []byte {
	b := make([]byte, 0, headerLen+size)
	b = append(b, version, byte(t))
	return binary.LittleEndian.AppendUint64(b, round)
}

func putID(b []byte, id ClientID) []byte { return binary.LittleEndian.AppendUint32(b, uint32(id)) }

func (m *AdvertiseKeys) MarshalBinary() ([]byte, error) {
	b := putID(header(m.Type(), m.RoundID, keyEntryLen), m.From)
	return appendKeys(b, &m.Keys), nil
}

func appendKeys(b []byte, k *PublicKeys) []byte {
	b = append(b, k.Enc[:]...)
	b = append(b, k.Mask[:]...)
	return append(b, k.Sign[:]...)
}

func (m *KeyList) MarshalBinary() ([]byte, error) {
	b := header(m.Type(), m.RoundID, 4+len(m.Keys)*keyEntryLen)
	b = binary.LittleEndian.AppendUint32(b, uint32(len(m.Keys)))
	for i := range m.Keys {
		b = putID(b, m.Keys[i].ID)
		b = appendKeys(b, &m.Keys[i].Keys)
	}
	return b, nil
}

func marshalShares(t MsgType, round uint64, who ClientID, s []EncryptedShare) []byte {
	b := putID(header(t, round, 8+len(s)*(4+ctLen)), who)
	b = binary.LittleEndian.AppendUint32(b, uint32(len(s)))
	for i := range s {
		b = putID(b, s[i].Peer)
		b = append(b, s[i].Ciphertext[:]...)
	}
	return b
}

func (m *ShareKeys) MarshalBinary() ([]byte, error) {
	return marshalShares(m.Type(), m.RoundID, m.From, m.Shares), nil
}

func (m *SharesFor) MarshalBinary() ([]byte, error) {
	return marshalShares(m.Type(), m.RoundID, m.To, m.Shares), nil
}

func (m *MaskedInput) MarshalBinary() ([]byte, error) {
	if m.ModBits < 1 || m.ModBits > 64 {
		return nil, fmt.Errorf("%w: MaskedInput ModBits %d", ErrMalformed, m.ModBits)
	}
	b := putID(header(m.Type(), m.RoundID, 9+encode.PackedLen(len(m.Vector), m.ModBits)), m.From)
	b = append(b, byte(m.ModBits))
	b = binary.LittleEndian.AppendUint32(b, uint32(len(m.Vector)))
	return encode.Pack(b, m.Vector, m.ModBits), nil
}

func (m *SurvivorList) MarshalBinary() ([]byte, error) {
	b := header(m.Type(), m.RoundID, 4+4*len(m.IDs))
	b = binary.LittleEndian.AppendUint32(b, uint32(len(m.IDs)))
	for _, id := range m.IDs {
		b = putID(b, id)
	}
	return b, nil
}

func (m *ConsistencySig) MarshalBinary() ([]byte, error) {
	b := putID(header(m.Type(), m.RoundID, 4+sigLen), m.From)
	return append(b, m.Sig[:]...), nil
}

func (m *UnmaskRequest) MarshalBinary() ([]byte, error) {
	b := putID(header(m.Type(), m.RoundID, 8+len(m.Sigs)*(4+sigLen)), m.To)
	b = binary.LittleEndian.AppendUint32(b, uint32(len(m.Sigs)))
	for i := range m.Sigs {
		b = putID(b, m.Sigs[i].ID)
		b = append(b, m.Sigs[i].Sig[:]...)
	}
	return b, nil
}

func (m *UnmaskShares) MarshalBinary() ([]byte, error) {
	b := putID(header(m.Type(), m.RoundID, 8+len(m.Shares)*(5+shareLen)), m.From)
	b = binary.LittleEndian.AppendUint32(b, uint32(len(m.Shares)))
	for i := range m.Shares {
		b = putID(b, m.Shares[i].Peer)
		b = append(b, m.Shares[i].Kind)
		b = append(b, m.Shares[i].Share[:]...)
	}
	return b, nil
}

func (m *Abort) MarshalBinary() ([]byte, error) {
	if len(m.Reason) > maxReason || !utf8.ValidString(m.Reason) {
		return nil, fmt.Errorf("%w: abort reason must be valid UTF-8 of at most %d bytes", ErrMalformed, maxReason)
	}
	b := header(m.Type(), m.RoundID, 2+len(m.Reason))
	b = binary.LittleEndian.AppendUint16(b, uint16(len(m.Reason)))
	return append(b, m.Reason...), nil
}

// reader decodes with bounds checks; the first failure sticks.
type reader struct {
	b   []byte
	err error
	t   MsgType
}

func (r *reader) fail(format string, a ...any) {
	if r.err == nil {
		r.err = fmt.Errorf("%w: %v: %s", ErrMalformed, r.t, fmt.Sprintf(format, a...))
	}
}

func (r *reader) bytes(n int, what string) []byte {
	if r.err != nil {
		return nil
	}
	if n < 0 || len(r.b) < n {
		r.fail("truncated %s: need %d bytes, have %d", what, n, len(r.b))
		return nil
	}
	v := r.b[:n]
	r.b = r.b[n:]
	return v
}

func (r *reader) u8(what string) uint8 {
	if v := r.bytes(1, what); v != nil {
		return v[0]
	}
	return 0
}

func (r *reader) u16(what string) uint16 {
	if v := r.bytes(2, what); v != nil {
		return binary.LittleEndian.Uint16(v)
	}
	return 0
}

func (r *reader) u32(what string) uint32 {
	if v := r.bytes(4, what); v != nil {
		return binary.LittleEndian.Uint32(v)
	}
	return 0
}

func (r *reader) id(what string) ClientID {
	v := ClientID(r.u32(what))
	if r.err == nil && (v == 0 || v > MaxN) {
		r.fail("%s: client id %d out of range 1..%d", what, v, MaxN)
	}
	return v
}

func (r *reader) arr32(dst *[32]byte, what string) {
	if v := r.bytes(32, what); v != nil {
		copy(dst[:], v)
	}
}

// count reads a u32 element count and checks that count elements of size
// bytes each fit in what remains, so a lying count cannot allocate.
func (r *reader) count(size int, what string) int {
	n := int(r.u32(what + " count"))
	if r.err == nil && n > len(r.b)/size {
		r.fail("%s count %d does not fit in %d remaining bytes", what, n, len(r.b))
		return 0
	}
	return n
}

// ascending checks that ids strictly increase (sorted, no duplicates).
func (r *reader) ascending(prev *ClientID, id ClientID, what string) {
	if r.err == nil && id <= *prev {
		r.fail("%s ids not strictly ascending (%d after %d)", what, id, *prev)
	}
	*prev = id
}

func (r *reader) end() error {
	if r.err == nil && len(r.b) != 0 {
		r.fail("%d trailing bytes", len(r.b))
	}
	return r.err
}

func (t MsgType) String() string {
	names := [...]string{"?", "AdvertiseKeys", "KeyList", "ShareKeys", "SharesFor", "MaskedInput",
		"SurvivorList", "ConsistencySig", "UnmaskRequest", "UnmaskShares", "Abort"}
	if int(t) < len(names) {
		return names[t]
	}
	return fmt.Sprintf("MsgType(%d)", uint8(t))
}

func newReader(b []byte, t MsgType) (*reader, uint64) {
	r := &reader{b: b, t: t}
	if len(b) < headerLen {
		r.fail("truncated header: %d bytes", len(b))
		return r, 0
	}
	if b[0] != version {
		r.fail("version %d, want %d", b[0], version)
	}
	if MsgType(b[1]) != t {
		r.fail("type byte %d", b[1])
	}
	round := binary.LittleEndian.Uint64(b[2:])
	r.b = b[headerLen:]
	return r, round
}

func (m *AdvertiseKeys) UnmarshalBinary(b []byte) error {
	r, round := newReader(b, TypeAdvertiseKeys)
	v := AdvertiseKeys{RoundID: round, From: r.id("From")}
	readKeys(r, &v.Keys)
	if err := r.end(); err != nil {
		return err
	}
	*m = v
	return nil
}

func readKeys(r *reader, k *PublicKeys) {
	r.arr32(&k.Enc, "Enc key")
	r.arr32(&k.Mask, "Mask key")
	r.arr32(&k.Sign, "Sign key")
}

func (m *KeyList) UnmarshalBinary(b []byte) error {
	r, round := newReader(b, TypeKeyList)
	v := KeyList{RoundID: round}
	n := r.count(keyEntryLen, "key")
	v.Keys = make([]KeyEntry, n)
	var prev ClientID
	for i := range v.Keys {
		v.Keys[i].ID = r.id("key entry")
		r.ascending(&prev, v.Keys[i].ID, "key entry")
		readKeys(r, &v.Keys[i].Keys)
	}
	if err := r.end(); err != nil {
		return err
	}
	*m = v
	return nil
}

func readShares(r *reader) []EncryptedShare {
	n := r.count(4+ctLen, "share")
	s := make([]EncryptedShare, n)
	var prev ClientID
	for i := range s {
		s[i].Peer = r.id("share peer")
		r.ascending(&prev, s[i].Peer, "share")
		if c := r.bytes(ctLen, "ciphertext"); c != nil {
			copy(s[i].Ciphertext[:], c)
		}
	}
	return s
}

func (m *ShareKeys) UnmarshalBinary(b []byte) error {
	r, round := newReader(b, TypeShareKeys)
	v := ShareKeys{RoundID: round, From: r.id("From")}
	v.Shares = readShares(r)
	if err := r.end(); err != nil {
		return err
	}
	*m = v
	return nil
}

func (m *SharesFor) UnmarshalBinary(b []byte) error {
	r, round := newReader(b, TypeSharesFor)
	v := SharesFor{RoundID: round, To: r.id("To")}
	v.Shares = readShares(r)
	if err := r.end(); err != nil {
		return err
	}
	*m = v
	return nil
}

func (m *MaskedInput) UnmarshalBinary(b []byte) error {
	var v MaskedInput
	packed, n, err := v.unmarshalPacked(b)
	if err != nil {
		return err
	}
	if v.Vector, err = encode.Unpack(nil, packed, n, v.ModBits); err != nil {
		return fmt.Errorf("%w: %v: vector: %v", ErrMalformed, TypeMaskedInput, err) // checked already
	}
	*m = v
	return nil
}

// unmarshalPacked decodes b, checking the packed vector (length, zero
// padding) without unpacking it: m.Vector stays nil, and the packed bytes
// and the element count are returned, so the server can add the vector to
// its sum straight from them (addPacked).
func (m *MaskedInput) unmarshalPacked(b []byte) (packed []byte, n int, err error) {
	r, round := newReader(b, TypeMaskedInput)
	v := MaskedInput{RoundID: round, From: r.id("From"), ModBits: int(r.u8("ModBits"))}
	n = int(r.u32("vector length"))
	if r.err == nil && (v.ModBits < 1 || v.ModBits > 64) {
		r.fail("ModBits %d out of range 1..64", v.ModBits)
	}
	if r.err == nil && (n < 1 || n > MaxLen) {
		r.fail("vector length %d out of range 1..%d", n, MaxLen)
	}
	if r.err == nil {
		if err := checkPacked(r.b, n, v.ModBits); err != nil {
			r.fail("vector: %v", err)
		}
		packed, r.b = r.b, nil
	}
	if err := r.end(); err != nil {
		return nil, 0, err
	}
	*m = v
	return packed, n, nil
}

// checkPacked reports encode.Unpack's error for src, if it has one,
// without unpacking: src must be exactly PackedLen bytes with zero padding.
func checkPacked(src []byte, n, bits int) error {
	ok := len(src) == encode.PackedLen(n, bits)
	if r := (n * bits) % 8; ok && r != 0 && src[len(src)-1]>>uint(r) != 0 {
		ok = false
	}
	if ok {
		return nil
	}
	_, err := encode.Unpack(nil, src, n, bits)
	if err == nil {
		panic("secagg: checkPacked disagrees with encode.Unpack")
	}
	return err
}

// addPacked adds the n-element vector packed in src (checked by
// checkPacked) to sum, mod 2^bits, without unpacking it first: for
// bits <= 56 element i is one unaligned 8-byte load at byte i·bits/8,
// shifted and masked (branch-free, a few times faster than unpacking into a
// buffer and adding); wider elements go through encode.Unpack in pieces
// that stay in L1. Long vectors are split over the cores in pieces of
// multiples of 8 elements (byte-aligned starts; only the last has padding).
func addPacked(sum []uint64, src []byte, n, bits int) {
	mask := ^uint64(0)
	if bits < 64 {
		mask = 1<<uint(bits) - 1
	}
	piece := func(lo, hi int) {
		if bits > 56 {
			var buf [1024]uint64
			for a := lo; a < hi; a += len(buf) {
				b := min(a+len(buf), hi)
				v, err := encode.Unpack(buf[:0], src[a*bits/8:(b*bits+7)/8], b-a, bits)
				if err != nil {
					panic("secagg: a checked packed vector does not unpack: " + err.Error())
				}
				s := sum[a:b]
				for i, x := range v {
					s[i] = (s[i] + x) & mask
				}
			}
			return
		}
		// Elements whose 8-byte window lies inside src take the fast loop.
		fast := lo
		if len(src) >= 8 {
			fast = min(hi, max(lo, (len(src)-8)*8/bits+1))
		}
		for i := lo; i < fast; i++ {
			p := i * bits
			x := binary.LittleEndian.Uint64(src[p>>3:]) >> uint(p&7)
			sum[i] = (sum[i] + x) & mask
		}
		for i := fast; i < hi; i++ {
			p := i * bits
			var w uint64
			for k := min(len(src), p>>3+8) - 1; k >= p>>3; k-- {
				w = w<<8 | uint64(src[k])
			}
			sum[i] = (sum[i] + w>>uint(p&7)) & mask
		}
	}
	w := runtime.GOMAXPROCS(0)
	if w < 2 || n < 1<<15 {
		piece(0, n)
		return
	}
	per := (n/w + 7) &^ 7
	var wg sync.WaitGroup
	for lo := 0; lo < n; lo += per {
		hi := min(lo+per, n)
		if hi == n {
			piece(lo, hi) // the last piece on this goroutine
			break
		}
		wg.Add(1)
		go func() {
			defer wg.Done()
			piece(lo, hi)
		}()
	}
	wg.Wait()
}

func (m *SurvivorList) UnmarshalBinary(b []byte) error {
	r, round := newReader(b, TypeSurvivorList)
	v := SurvivorList{RoundID: round}
	v.IDs = make([]ClientID, r.count(4, "survivor"))
	var prev ClientID
	for i := range v.IDs {
		v.IDs[i] = r.id("survivor")
		r.ascending(&prev, v.IDs[i], "survivor")
	}
	if err := r.end(); err != nil {
		return err
	}
	*m = v
	return nil
}

func (m *ConsistencySig) UnmarshalBinary(b []byte) error {
	r, round := newReader(b, TypeConsistencySig)
	v := ConsistencySig{RoundID: round, From: r.id("From")}
	if s := r.bytes(sigLen, "signature"); s != nil {
		copy(v.Sig[:], s)
	}
	if err := r.end(); err != nil {
		return err
	}
	*m = v
	return nil
}

func (m *UnmaskRequest) UnmarshalBinary(b []byte) error {
	r, round := newReader(b, TypeUnmaskRequest)
	v := UnmaskRequest{RoundID: round, To: r.id("To")}
	v.Sigs = make([]SigEntry, r.count(4+sigLen, "signature"))
	var prev ClientID
	for i := range v.Sigs {
		v.Sigs[i].ID = r.id("signer")
		r.ascending(&prev, v.Sigs[i].ID, "signature")
		if s := r.bytes(sigLen, "signature"); s != nil {
			copy(v.Sigs[i].Sig[:], s)
		}
	}
	if err := r.end(); err != nil {
		return err
	}
	*m = v
	return nil
}

func (m *UnmaskShares) UnmarshalBinary(b []byte) error {
	r, round := newReader(b, TypeUnmaskShares)
	v := UnmaskShares{RoundID: round, From: r.id("From")}
	v.Shares = make([]RevealedShare, r.count(5+shareLen, "revealed share"))
	var prev ClientID
	for i := range v.Shares {
		s := &v.Shares[i]
		s.Peer = r.id("revealed share peer")
		r.ascending(&prev, s.Peer, "revealed share")
		s.Kind = r.u8("share kind")
		if r.err == nil && s.Kind != KindSelfMask && s.Kind != KindMaskKey {
			r.fail("share kind %d for peer %d", s.Kind, s.Peer)
		}
		r.arr32(&s.Share, "share")
	}
	if err := r.end(); err != nil {
		return err
	}
	*m = v
	return nil
}

func (m *Abort) UnmarshalBinary(b []byte) error {
	r, round := newReader(b, TypeAbort)
	n := int(r.u16("reason length"))
	if r.err == nil && n > maxReason {
		r.fail("reason length %d > %d", n, maxReason)
	}
	s := r.bytes(n, "reason")
	if r.err == nil && !utf8.Valid(s) {
		r.fail("reason is not UTF-8")
	}
	if err := r.end(); err != nil {
		return err
	}
	*m = Abort{RoundID: round, Reason: string(s)}
	return nil
}

// Parse decodes any message, dispatching on its type byte.
func Parse(b []byte) (Message, error) {
	if len(b) < headerLen {
		return nil, fmt.Errorf("%w: %d bytes is shorter than the %d-byte header", ErrMalformed, len(b), headerLen)
	}
	var m interface {
		Message
		UnmarshalBinary([]byte) error
	}
	switch MsgType(b[1]) {
	case TypeAdvertiseKeys:
		m = new(AdvertiseKeys)
	case TypeKeyList:
		m = new(KeyList)
	case TypeShareKeys:
		m = new(ShareKeys)
	case TypeSharesFor:
		m = new(SharesFor)
	case TypeMaskedInput:
		m = new(MaskedInput)
	case TypeSurvivorList:
		m = new(SurvivorList)
	case TypeConsistencySig:
		m = new(ConsistencySig)
	case TypeUnmaskRequest:
		m = new(UnmaskRequest)
	case TypeUnmaskShares:
		m = new(UnmaskShares)
	case TypeAbort:
		m = new(Abort)
	default:
		return nil, fmt.Errorf("%w: unknown message type %d", ErrMalformed, b[1])
	}
	if err := m.UnmarshalBinary(b); err != nil {
		return nil, err
	}
	return m, nil
}
