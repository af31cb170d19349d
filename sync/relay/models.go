package relay

import (
	"crypto/sha256"
	"errors"
	"fmt"
	"sort"
	"sync"

	"github.com/murmur-fl/murmur/sync/codec"
	"github.com/murmur-fl/murmur/sync/wire"
)

// DownloadConfig chooses how devices receive the global model.
//
// Every committed version v has served parameters S_v: what every download
// of v decodes to, bit for bit, whichever way it travels. A snapshot
// encodes S_v; a delta from version b is the XOR of the float32 bits of S_b
// and S_v (sync/codec "float32" delta, zstd or Huffman over byte planes),
// which is lossless, so a device holding S_b reconstructs S_v exactly and
// checks it against wire.Task.ParamsHash. Lossy rounding, if any, happens
// once per version in S_v and is never compounded along chains of deltas.
type DownloadConfig struct {
	// Precision of the served parameters:
	//   - "" (default): raw little-endian float32 snapshots (no codec
	//     frame; S_v is the model itself);
	//   - "float32": the model itself in a compressed sync/codec frame;
	//   - "bf16": every parameter rounded to the nearest bf16. The relay
	//     keeps training the exact float32 model, so a device's copy is off
	//     by at most half a bf16 step (2^-9 relative) of the current model,
	//     never more, however many versions it has followed. Deltas between
	//     bf16-rounded versions have all-zero low halves and compress well.
	Precision string
	// Keep is how many of the latest committed versions the relay keeps
	// (their parameters, in the Store, so a restart keeps serving deltas)
	// to serve deltas from. A device holding an older or unknown version
	// gets the snapshot. Default 8; 1 turns deltas off.
	Keep int
}

func (c *DownloadConfig) withDefaults() error {
	switch c.Precision {
	case "", "float32", "bf16":
	default:
		return fmt.Errorf("relay: Download.Precision %q: want \"\", \"float32\" or \"bf16\"", c.Precision)
	}
	if c.Keep <= 0 {
		c.Keep = 8
	}
	return nil
}

// served is one committed version as devices receive it.
type served struct {
	version uint64
	params  []float32 // S_v (must not be modified)
	hash    wire.Hash // SHA-256 of params as little-endian float32
}

type deltaKey struct{ from, to uint64 }

// models encodes committed versions for download: snapshots, and deltas
// between kept versions, cached per (from, to) pair. Safe for concurrent use.
type models struct {
	cfg   DownloadConfig
	store Store

	mu              sync.Mutex
	kept            map[uint64]*served   // served parameters of kept versions
	deltas          map[deltaKey]*delta  // encoded deltas, bounded by maxDeltas
	byHash          map[wire.Hash]*delta // the same, by blob hash (for Fetch)
	swept           uint64               // the version whose deltas were all encoded after a miss
	encMu           sync.Mutex           // codec encoders are not safe for concurrent use
	snapEnc, xorEnc *codec.Encoder
}

// delta is one encoded delta blob.
type delta struct {
	key  deltaKey
	hash wire.Hash
	blob []byte
}

func newModels(cfg DownloadConfig, store Store) (*models, error) {
	if err := cfg.withDefaults(); err != nil {
		return nil, err
	}
	m := &models{cfg: cfg, store: store, kept: map[uint64]*served{}, deltas: map[deltaKey]*delta{}, byHash: map[wire.Hash]*delta{}}
	var err error
	if cfg.Precision != "" {
		if m.snapEnc, err = codec.NewEncoder(codec.Config{Codec: cfg.Precision, Zstd: true}); err != nil {
			return nil, err
		}
	}
	if m.xorEnc, err = codec.NewEncoder(codec.Config{Codec: "float32", Zstd: true}); err != nil {
		return nil, err
	}
	return m, nil
}

// maxDeltas bounds the cached delta encodings: every kept version to the
// latest, and to the one before it (devices still finishing that download).
func (m *models) maxDeltas() int { return 2 * m.cfg.Keep }

// snapshot encodes version v of params as a full model blob and returns it
// with the served parameters it decodes to.
func (m *models) snapshot(v uint64, params []float32) ([]byte, *served, error) {
	if m.snapEnc == nil {
		blob := EncodeFloat32(params)
		return blob, &served{version: v, params: params, hash: sha256.Sum256(blob)}, nil
	}
	m.encMu.Lock()
	blob, err := m.snapEnc.EncodeModel(params, v, nil, 0)
	m.encMu.Unlock()
	if err != nil {
		return nil, nil, fmt.Errorf("relay: encode model v%d: %w", v, err)
	}
	s, err := servedFromBlob(v, blob)
	return blob, s, err
}

// servedFromBlob decodes a snapshot blob (a sync/codec frame, or raw
// float32) into what devices hold after downloading it.
func servedFromBlob(v uint64, blob []byte) (*served, error) {
	p, _, err := codec.DecodeModel(blob, nil, 0)
	if err != nil {
		if len(blob)%4 != 0 {
			return nil, fmt.Errorf("relay: model v%d blob: %w", v, err)
		}
		if p, err = RawFloat32(blob, len(blob)/4, nil); err != nil {
			return nil, err
		}
	}
	return &served{version: v, params: p, hash: wire.ParamsHash(p)}, nil
}

// committed records the newest version (as served) and forgets kept
// versions, deltas and store parameters that fell out of the window.
func (m *models) committed(cur *served) error {
	m.mu.Lock()
	m.kept[cur.version] = cur
	oldest := m.oldest(cur.version)
	for v := range m.kept {
		if v < oldest {
			delete(m.kept, v)
		}
	}
	for k, d := range m.deltas {
		if k.from < oldest || k.to+1 < cur.version {
			delete(m.deltas, k)
			delete(m.byHash, d.hash)
		}
	}
	m.mu.Unlock()
	return m.store.Prune(oldest)
}

// oldest is the oldest version a delta to latest may start from.
func (m *models) oldest(latest uint64) uint64 {
	return uint64(max(1, int64(latest)-int64(m.cfg.Keep)+1))
}

// base returns the served parameters of a kept version, re-encoding them
// from the store's parameters when they are not in memory (after a
// restart).
func (m *models) base(v uint64) (*served, error) {
	m.mu.Lock()
	s := m.kept[v]
	m.mu.Unlock()
	if s != nil {
		return s, nil
	}
	p, err := m.store.Params(v)
	if err != nil {
		return nil, err
	}
	_, s, err = m.snapshot(v, p)
	if err != nil {
		return nil, err
	}
	m.mu.Lock()
	m.kept[v] = s
	m.mu.Unlock()
	return s, nil
}

// errNoDelta means the device must take the snapshot.
var errNoDelta = errors.New("relay: no delta from that version")

// delta returns the blob that turns version from (as served) into cur,
// encoding and caching it on first use. It fails with errNoDelta when from
// is not a kept version older than cur.
func (m *models) delta(from uint64, cur *served) (*delta, error) {
	if from == 0 || from >= cur.version || from < m.oldest(cur.version) {
		return nil, errNoDelta
	}
	k := deltaKey{from, cur.version}
	m.mu.Lock()
	d := m.deltas[k]
	m.mu.Unlock()
	if d != nil {
		return d, nil
	}
	b, err := m.base(from)
	if errors.Is(err, ErrNotFound) {
		return nil, errNoDelta
	}
	if err != nil {
		return nil, err
	}
	if len(b.params) != len(cur.params) {
		return nil, errNoDelta
	}
	m.encMu.Lock()
	defer m.encMu.Unlock()
	m.mu.Lock()
	d = m.deltas[k] // a participant selected at the same time may have encoded it
	m.mu.Unlock()
	if d != nil {
		return d, nil
	}
	blob, err := m.xorEnc.EncodeModel(cur.params, cur.version, b.params, from)
	if err != nil {
		return nil, fmt.Errorf("relay: encode delta v%d→v%d: %w", from, cur.version, err)
	}
	d = &delta{key: k, hash: sha256.Sum256(blob), blob: blob}
	m.mu.Lock()
	if len(m.deltas) >= m.maxDeltas() {
		m.evictLocked()
	}
	m.deltas[k], m.byHash[d.hash] = d, d
	m.mu.Unlock()
	return d, nil
}

// evictLocked drops the cached delta with the oldest target, then the
// oldest base.
func (m *models) evictLocked() {
	keys := make([]deltaKey, 0, len(m.deltas))
	for k := range m.deltas {
		keys = append(keys, k)
	}
	sort.Slice(keys, func(i, j int) bool {
		if keys[i].to != keys[j].to {
			return keys[i].to < keys[j].to
		}
		return keys[i].from < keys[j].from
	})
	d := m.deltas[keys[0]]
	delete(m.deltas, keys[0])
	delete(m.byHash, d.hash)
}

// blob returns a cached delta blob by hash and the version it leads to.
func (m *models) blob(h wire.Hash) ([]byte, uint64, bool) {
	m.mu.Lock()
	defer m.mu.Unlock()
	if d := m.byHash[h]; d != nil {
		return d.blob, d.key.to, true
	}
	return nil, 0, false
}

// sweep encodes the deltas from every kept version to cur, once per
// version: a device that resumes a delta download after a relay restart
// names a blob this process has not encoded yet, and encodings are
// deterministic, so the same pair gives the same hash. Bounded work (Keep-1
// encodings) however many unknown hashes are asked for.
func (m *models) sweep(cur *served) {
	m.mu.Lock()
	if m.swept == cur.version {
		m.mu.Unlock()
		return
	}
	m.swept = cur.version
	m.mu.Unlock()
	for v := m.oldest(cur.version); v < cur.version; v++ {
		m.delta(v, cur)
	}
}
