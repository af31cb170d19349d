package secagg

import (
	"crypto/aes"
	"crypto/cipher"
	"crypto/ecdh"
	"crypto/hkdf"
	"crypto/sha256"
	"encoding/binary"
	"fmt"
	"io"
	"math/bits"

	"github.com/cloudflare/circl/dh/x25519"
	"github.com/cloudflare/circl/group"
	"github.com/cloudflare/circl/math/polynomial"
	"github.com/cloudflare/circl/secretsharing"
	"golang.org/x/crypto/chacha20"
)

// Domain-separation labels (see SPEC.md, "Key derivations").
const (
	labelSession   = "murmur/secagg/v1/session"
	labelClient    = "murmur/secagg/v1/client/"
	labelMaskKey   = "murmur/secagg/v1/mask-key"
	labelShareKey  = "murmur/secagg/v1/share-key"
	labelShareAD   = "murmur/secagg/v1/share"
	labelSelfMask  = "murmur/secagg/v1/self-mask"
	labelPairMask  = "murmur/secagg/v1/pair-mask"
	labelSurvivors = "murmur/secagg/v1/survivors"
	labelScalar    = "murmur/secagg/v1/scalar"
)

var grp = group.Ristretto255

func kdf(secret, salt []byte, info string) [32]byte {
	k, err := hkdf.Key(sha256.New, secret, salt, info, 32)
	if err != nil {
		panic(err) // only fails for lengths > 255·32
	}
	return [32]byte(k)
}

// clientStream is the deterministic randomness of one client for one
// purpose: ChaCha20 keyed by HKDF(seed, info = labelClient+purpose), zero
// nonce. Everything a client draws comes from its 32-byte seed, so a client
// can be rebuilt from its seed and the messages it received.
func clientStream(seed *[32]byte, purpose string) io.Reader {
	k := kdf(seed[:], nil, labelClient+purpose)
	c, err := chacha20.NewUnauthenticatedCipher(k[:], make([]byte, 12))
	if err != nil {
		panic(err)
	}
	return &streamReader{c}
}

type streamReader struct{ c *chacha20.Cipher }

func (s *streamReader) Read(p []byte) (int, error) {
	clear(p)
	s.c.XORKeyStream(p, p)
	return len(p), nil
}

// randomScalar draws 64 bytes and hashes them to a Ristretto255 scalar.
// (circl's Ristretto255 RandomScalar ignores its reader, which would make
// clients irreproducible, so scalars are derived here.)
func randomScalar(r io.Reader) group.Scalar {
	var b [64]byte
	if _, err := io.ReadFull(r, b[:]); err != nil {
		panic(err) // clientStream never fails
	}
	return grp.HashToScalar(b[:], []byte(labelScalar))
}

func scalarBytes(s group.Scalar) [32]byte {
	b, err := s.MarshalBinary()
	if err != nil || len(b) != 32 {
		panic("secagg: scalar encoding")
	}
	return [32]byte(b)
}

func parseScalar(b []byte) (group.Scalar, error) {
	s := grp.NewScalar()
	if err := s.UnmarshalBinary(b); err != nil {
		return nil, fmt.Errorf("%w: share is not a canonical Ristretto255 scalar", ErrMalformed)
	}
	return s, nil
}

// dealer evaluates a random polynomial of degree T−1 with the secret as its
// constant term (circl's polynomial; recovery uses circl's secretsharing).
type dealer struct{ poly polynomial.Polynomial }

func newDealer(r io.Reader, threshold int, secret group.Scalar) dealer {
	c := make([]group.Scalar, threshold)
	c[0] = secret.Copy()
	for i := 1; i < len(c); i++ {
		c[i] = randomScalar(r)
	}
	return dealer{polynomial.New(c)}
}

func idScalar(id ClientID) group.Scalar { return grp.NewScalar().SetUint64(uint64(id)) }

func (d dealer) share(id ClientID) [32]byte { return scalarBytes(d.poly.Evaluate(idScalar(id))) }

// recoverSecret interpolates the secret at 0 from the first threshold of
// the shares (ids distinct): Σ_i v_i·λ_i with λ_i = Π_{j≠i} x_j / (x_j − x_i).
// The x are client ids, small integers, so each numerator and denominator is
// formed from integer products batched in uint64 (prodScalar: a few scalar
// multiplications instead of threshold), and all denominators are inverted
// together (Montgomery's trick: one scalar inversion per secret). circl's
// secretsharing.Recover, the reference checked against this in tests, spends
// about threshold² inversions, which dominated the server's unmask.
func recoverSecret(threshold int, ids []ClientID, shares [][32]byte) (group.Scalar, error) {
	if len(ids) < threshold || len(shares) != len(ids) {
		return nil, fmt.Errorf("secagg: %d shares, need %d", len(ids), threshold)
	}
	ids, shares = ids[:threshold], shares[:threshold]
	nums := make([]group.Scalar, threshold)
	dens := make([]group.Scalar, threshold)
	fs := make([]uint64, 0, threshold)
	for i, id := range ids {
		fs = fs[:0]
		for j, x := range ids {
			if j != i {
				fs = append(fs, uint64(x))
			}
		}
		nums[i] = prodScalar(fs)
		fs, neg := fs[:0], false
		for j, x := range ids {
			switch {
			case j == i:
			case x == id:
				return nil, fmt.Errorf("secagg: two shares from client %d", id)
			case x > id:
				fs = append(fs, uint64(x-id))
			default:
				fs, neg = append(fs, uint64(id-x)), !neg
			}
		}
		dens[i] = prodScalar(fs)
		if neg {
			dens[i].Neg(dens[i])
		}
	}
	// prefix[i] = dens[0]·…·dens[i−1]; invert the full product once.
	prefix := make([]group.Scalar, threshold+1)
	prefix[0] = grp.NewScalar().SetUint64(1)
	for i := range dens {
		prefix[i+1] = grp.NewScalar().Mul(prefix[i], dens[i])
	}
	inv := grp.NewScalar().Inv(prefix[threshold]) // 1/(d_0·…·d_{k−1})
	secret, term := grp.NewScalar(), grp.NewScalar()
	for i := threshold - 1; i >= 0; i-- {
		// 1/d_i = inv · prefix[i]; then drop d_i from inv.
		term.Mul(inv, prefix[i])
		inv.Mul(inv, dens[i])
		v, err := parseScalar(shares[i][:])
		if err != nil {
			return nil, fmt.Errorf("share from client %d: %w", ids[i], err)
		}
		term.Mul(term, nums[i])
		term.Mul(term, v)
		secret.Add(secret, term)
	}
	return secret, nil
}

// prodScalar is the product of positive integers as a scalar: factors are
// multiplied in a uint64 until the next would overflow it, so ids below
// 2^16 cost one scalar multiplication per four factors.
func prodScalar(fs []uint64) group.Scalar {
	out, tmp := grp.NewScalar().SetUint64(1), grp.NewScalar()
	acc := uint64(1)
	for _, f := range fs {
		if hi, lo := bits.Mul64(acc, f); hi == 0 {
			acc = lo
			continue
		}
		out.Mul(out, tmp.SetUint64(acc))
		acc = f
	}
	return out.Mul(out, tmp.SetUint64(acc))
}

// recoverSecretCircl is the reference: circl's secretsharing.Recover.
func recoverSecretCircl(threshold int, ids []ClientID, shares [][32]byte) (group.Scalar, error) {
	ss := make([]secretsharing.Share, len(ids))
	for i, id := range ids {
		v, err := parseScalar(shares[i][:])
		if err != nil {
			return nil, fmt.Errorf("share from client %d: %w", id, err)
		}
		ss[i] = secretsharing.Share{ID: idScalar(id), Value: v}
	}
	return secretsharing.Recover(uint(threshold-1), ss)
}

// maskKey derives a client's X25519 mask key from its shared secret r.
func maskKey(p Params, r group.Scalar) *ecdh.PrivateKey {
	rb := scalarBytes(r)
	k := kdf(rb[:], p.encode(nil), labelMaskKey)
	sk, err := ecdh.X25519().NewPrivateKey(k[:])
	if err != nil {
		panic(err) // any 32 bytes are a valid X25519 private key
	}
	return sk
}

// ecdhWith is X25519(sk, pub) through circl's x25519, about 1.5x faster
// than crypto/ecdh here (MULX/ADX field arithmetic on amd64), which matters
// for the server: it redoes every pair of a dropped client and its
// surviving neighbours. Same function (RFC 7748, top bit of pub ignored), and
// the same rejection of low-order points (all-zero output), as crypto/ecdh:
// TestECDHMatchesStdlib checks both.
func ecdhWith(sk *ecdh.PrivateKey, pub [32]byte, who ClientID) ([]byte, error) {
	var out, k x25519.Key
	copy(k[:], sk.Bytes())
	p := x25519.Key(pub)
	ok := x25519.Shared(&out, &k, &p)
	clear(k[:])
	if !ok || out == (x25519.Key{}) {
		return nil, fmt.Errorf("%w: client %d's public key is a low-order X25519 point", ErrMalformed, who)
	}
	return out[:], nil
}

func selfMaskSeed(sid *[32]byte, b group.Scalar) [32]byte {
	bb := scalarBytes(b)
	return kdf(bb[:], sid[:], labelSelfMask)
}

func pairMaskSeed(sid *[32]byte, shared []byte) [32]byte { return kdf(shared, sid[:], labelPairMask) }

// shareAEAD returns the cipher for the share channel between two clients,
// and nonce and associated data for the direction from → to.
func shareAEAD(sid *[32]byte, shared []byte, from, to ClientID) (cipher.AEAD, []byte, []byte) {
	k := kdf(shared, sid[:], labelShareKey)
	blk, err := aes.NewCipher(k[:])
	if err != nil {
		panic(err)
	}
	a, err := cipher.NewGCM(blk)
	if err != nil {
		panic(err)
	}
	nonce := make([]byte, 12)
	binary.LittleEndian.PutUint32(nonce, uint32(from))
	binary.LittleEndian.PutUint32(nonce[4:], uint32(to))
	ad := append([]byte(labelShareAD), sid[:]...)
	ad = putID(putID(ad, from), to)
	return a, nonce, ad
}

func sessionID(p Params, keyList []byte) [32]byte {
	h := sha256.New()
	h.Write([]byte(labelSession))
	h.Write(p.encode(nil))
	h.Write(keyList)
	return [32]byte(h.Sum(nil))
}

func survivorsMessage(sid *[32]byte, list []byte) []byte {
	m := append([]byte(labelSurvivors), sid[:]...)
	return append(m, list...)
}
