package relay

import (
	"errors"
	"fmt"
	"sync"

	"github.com/murmur-fl/murmur/sync/wire"
)

// Store keeps what must survive a crash: committed models (with the server
// optimizer's state), the open round, and acknowledged upload bytes. An
// acknowledged offset is durable when AppendUpload returns. It is an
// interface so that a deployment of many relays can put it on a shared
// engine; OpenBolt is the embedded default and NewMemStore is for tests
// and simulations.
type Store interface {
	// Latest returns the newest committed model; ok is false when none.
	Latest() (m Committed, ok bool, err error)
	// Commit atomically stores the model and optimizer state, closes the
	// round with that number and deletes its uploads.
	Commit(m Committed) error
	// Blob returns a stored model blob by content hash.
	Blob(h wire.Hash) ([]byte, error)
	// Params returns the parameters of committed version v, kept from its
	// Commit until a Prune drops it (ErrNotFound then); the relay serves
	// deltas from these versions.
	Params(v uint64) ([]float32, error)
	// Prune forgets the parameters of versions older than before (never
	// those of the latest model).
	Prune(before uint64) error

	// SaveRound records the open round; LoadRound returns the last round
	// recorded (open, or Closed once committed or abandoned).
	SaveRound(r RoundState) error
	LoadRound() (r RoundState, ok bool, err error)
	// AbandonRound closes round n without a model and deletes its uploads.
	AbandonRound(n uint64) error

	// BeginUpload creates the upload if new and returns its state.
	BeginUpload(round uint64, u UploadMeta) (UploadMeta, error)
	// AppendUpload appends data at offset, which must be the durable offset
	// (ErrStaleOffset otherwise), and returns the new durable offset.
	AppendUpload(round uint64, id wire.ID16, offset uint64, data []byte) (uint64, error)
	// CompleteUpload marks a fully received upload as counted.
	CompleteUpload(round uint64, id wire.ID16) error
	// Upload returns an upload's state and, if withData, its bytes.
	Upload(round uint64, id wire.ID16, withData bool) (UploadMeta, []byte, error)
	// Uploads lists the round's uploads.
	Uploads(round uint64) ([]UploadMeta, error)

	Close() error
}

// Committed is one committed global model.
type Committed struct {
	Version  uint64    // 1 for the initial model, +1 per commit
	Round    uint64    // the round that produced it (0: initial)
	Hash     wire.Hash // SHA-256 of Blob
	Blob     []byte    // what devices download
	Params   []float32 // the parameters (float32)
	OptState []byte    // server optimizer state
}

// RoundState is the durable part of an open round.
type RoundState struct {
	Number       uint64        `json:"number"`
	ModelVersion uint64        `json:"model_version"`
	Plan         []byte        `json:"plan"`
	StartedMs    int64         `json:"started_ms"`
	DeadlineMs   int64         `json:"deadline_ms"`
	Participants []Participant `json:"participants"`
	// Closed is set when the round committed or was abandoned; the record
	// stays so that round numbers are never reused.
	Closed bool `json:"closed,omitempty"`
}

// Participant is one selected device.
type Participant struct {
	Device   string    `json:"device"`
	Index    uint32    `json:"index"`
	UploadID wire.ID16 `json:"upload_id"`
}

// UploadMeta describes one upload.
type UploadMeta struct {
	ID       wire.ID16 `json:"id"`
	Device   string    `json:"device"`
	Size     uint64    `json:"size"`
	CRC      uint32    `json:"crc"`
	Examples uint64    `json:"examples"`
	Offset   uint64    `json:"offset"` // durable bytes
	Done     bool      `json:"done"`   // verified and counted
}

// Store errors.
var (
	ErrStaleOffset   = errors.New("relay: offset is not the durable offset")
	ErrUnknownUpload = errors.New("relay: unknown upload")
	ErrUploadDone    = errors.New("relay: upload already complete")
	ErrUploadFull    = errors.New("relay: data past the declared upload size")
	ErrUploadChanged = errors.New("relay: upload re-declared with a different size or checksum")
	ErrNotFound      = errors.New("relay: not found")
)

// memStore is an in-memory Store: nothing survives the process.
type memStore struct {
	mu      sync.Mutex
	latest  *Committed
	params  map[uint64][]float32
	blobs   map[wire.Hash][]byte
	round   *RoundState
	uploads map[uint64]map[wire.ID16]*memUpload
}

type memUpload struct {
	meta UploadMeta
	data []byte
}

// NewMemStore returns a Store that keeps everything in memory.
func NewMemStore() Store {
	return &memStore{params: map[uint64][]float32{}, blobs: map[wire.Hash][]byte{}, uploads: map[uint64]map[wire.ID16]*memUpload{}}
}

func (s *memStore) Latest() (Committed, bool, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.latest == nil {
		return Committed{}, false, nil
	}
	return *s.latest, true, nil
}

func (s *memStore) Commit(m Committed) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	c := m
	s.latest = &c
	s.params[m.Version] = m.Params
	s.blobs[m.Hash] = m.Blob
	if m.Round != 0 {
		s.endRound(m.Round)
	}
	return nil
}

func (s *memStore) endRound(n uint64) {
	if s.round != nil && s.round.Number == n {
		s.round.Closed = true
	}
	delete(s.uploads, n)
}

func (s *memStore) Blob(h wire.Hash) ([]byte, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if b, ok := s.blobs[h]; ok {
		return b, nil
	}
	return nil, fmt.Errorf("%w: blob %v", ErrNotFound, h)
}

func (s *memStore) Params(v uint64) ([]float32, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if p, ok := s.params[v]; ok {
		return p, nil
	}
	return nil, fmt.Errorf("%w: parameters of model version %d", ErrNotFound, v)
}

func (s *memStore) Prune(before uint64) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	for v := range s.params {
		if v < before && (s.latest == nil || v != s.latest.Version) {
			delete(s.params, v)
		}
	}
	return nil
}

func (s *memStore) SaveRound(r RoundState) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.round = &r
	return nil
}

func (s *memStore) LoadRound() (RoundState, bool, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.round == nil {
		return RoundState{}, false, nil
	}
	return *s.round, true, nil
}

func (s *memStore) AbandonRound(n uint64) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.endRound(n)
	return nil
}

func (s *memStore) BeginUpload(round uint64, u UploadMeta) (UploadMeta, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	m := s.uploads[round]
	if m == nil {
		m = map[wire.ID16]*memUpload{}
		s.uploads[round] = m
	}
	if old, ok := m[u.ID]; ok {
		if old.meta.Size != u.Size || old.meta.CRC != u.CRC || old.meta.Device != u.Device {
			return old.meta, ErrUploadChanged
		}
		return old.meta, nil
	}
	u.Offset, u.Done = 0, false
	m[u.ID] = &memUpload{meta: u}
	return u, nil
}

func (s *memStore) get(round uint64, id wire.ID16) (*memUpload, error) {
	if u, ok := s.uploads[round][id]; ok {
		return u, nil
	}
	return nil, ErrUnknownUpload
}

func (s *memStore) AppendUpload(round uint64, id wire.ID16, off uint64, data []byte) (uint64, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	u, err := s.get(round, id)
	if err != nil {
		return 0, err
	}
	if err := checkAppend(u.meta, off, len(data)); err != nil {
		return u.meta.Offset, err
	}
	u.data = append(u.data, data...)
	u.meta.Offset += uint64(len(data))
	return u.meta.Offset, nil
}

// checkAppend is the shared offset discipline of every Store.
func checkAppend(m UploadMeta, off uint64, n int) error {
	switch {
	case m.Done:
		return ErrUploadDone
	case off != m.Offset:
		return fmt.Errorf("%w: got %d, durable %d", ErrStaleOffset, off, m.Offset)
	case uint64(n) > m.Size-m.Offset:
		return fmt.Errorf("%w: %d bytes at %d, size %d", ErrUploadFull, n, off, m.Size)
	}
	return nil
}

func (s *memStore) CompleteUpload(round uint64, id wire.ID16) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	u, err := s.get(round, id)
	if err != nil {
		return err
	}
	u.meta.Done = true
	return nil
}

func (s *memStore) Upload(round uint64, id wire.ID16, withData bool) (UploadMeta, []byte, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	u, err := s.get(round, id)
	if err != nil {
		return UploadMeta{}, nil, err
	}
	if withData {
		return u.meta, u.data, nil
	}
	return u.meta, nil, nil
}

func (s *memStore) Uploads(round uint64) ([]UploadMeta, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	var out []UploadMeta
	for _, u := range s.uploads[round] {
		out = append(out, u.meta)
	}
	return out, nil
}

func (s *memStore) Close() error { return nil }
