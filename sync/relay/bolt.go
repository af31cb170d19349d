package relay

import (
	"bytes"
	"encoding/binary"
	"encoding/json"
	"fmt"
	"time"

	bolt "go.etcd.io/bbolt"

	"github.com/murmur-fl/murmur/sync/wire"
)

// keepVersions is how many committed model blobs stay downloadable, so a
// device that started on an older version can finish its download.
const keepVersions = 4

var (
	bMeta     = []byte("meta")
	bBlobs    = []byte("blobs")
	bVersions = []byte("versions")
	bUploads  = []byte("uploads")
	bParams   = []byte("version-params") // version -> raw float32 parameters
	kLatest   = []byte("latest")
	kParams   = []byte("params")
	kOpt      = []byte("opt")
	kRound    = []byte("round")
)

type boltStore struct{ db *bolt.DB }

// OpenBolt opens (creating if needed) the relay's store in one bbolt file.
// Every acknowledged write is fsynced before it returns; concurrent chunk
// appends share transactions through bbolt's Batch.
func OpenBolt(path string) (Store, error) {
	db, err := bolt.Open(path, 0o600, &bolt.Options{Timeout: 5 * time.Second})
	if err != nil {
		return nil, fmt.Errorf("relay: open store %s: %w", path, err)
	}
	db.MaxBatchDelay = 2 * time.Millisecond
	err = db.Update(func(tx *bolt.Tx) error {
		for _, b := range [][]byte{bMeta, bBlobs, bVersions, bUploads, bParams} {
			if _, err := tx.CreateBucketIfNotExists(b); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		db.Close()
		return nil, fmt.Errorf("relay: init store %s: %w", path, err)
	}
	return &boltStore{db: db}, nil
}

func u64key(n uint64) []byte { return binary.BigEndian.AppendUint64(nil, n) }

type latestRec struct {
	Version uint64    `json:"version"`
	Round   uint64    `json:"round"`
	Hash    wire.Hash `json:"hash"`
}

func (s *boltStore) Latest() (c Committed, ok bool, err error) {
	err = s.db.View(func(tx *bolt.Tx) error {
		m := tx.Bucket(bMeta)
		v := m.Get(kLatest)
		if v == nil {
			return nil
		}
		var rec latestRec
		if err := json.Unmarshal(v, &rec); err != nil {
			return fmt.Errorf("relay: store: latest model record: %w", err)
		}
		blob := tx.Bucket(bBlobs).Get(rec.Hash[:])
		if blob == nil {
			return fmt.Errorf("relay: store: latest model blob %v missing", rec.Hash)
		}
		raw := tx.Bucket(bParams).Get(u64key(rec.Version))
		if raw == nil {
			raw = m.Get(kParams) // stores written before versions kept their parameters
		}
		params, err := RawFloat32(raw, len(raw)/4, nil)
		if err != nil {
			return err
		}
		c = Committed{Version: rec.Version, Round: rec.Round, Hash: rec.Hash, Blob: bytes.Clone(blob),
			Params: params, OptState: bytes.Clone(m.Get(kOpt))}
		ok = true
		return nil
	})
	return c, ok, err
}

func (s *boltStore) Commit(c Committed) error {
	return s.db.Update(func(tx *bolt.Tx) error {
		m := tx.Bucket(bMeta)
		rec, _ := json.Marshal(latestRec{c.Version, c.Round, c.Hash})
		if err := m.Put(kLatest, rec); err != nil {
			return err
		}
		if err := tx.Bucket(bParams).Put(u64key(c.Version), EncodeFloat32(c.Params)); err != nil {
			return err
		}
		if err := m.Delete(kParams); err != nil {
			return err
		}
		if err := m.Put(kOpt, c.OptState); err != nil {
			return err
		}
		if err := tx.Bucket(bBlobs).Put(c.Hash[:], c.Blob); err != nil {
			return err
		}
		vb := tx.Bucket(bVersions)
		if err := vb.Put(u64key(c.Version), c.Hash[:]); err != nil {
			return err
		}
		// Prune blobs of versions no longer kept.
		cur := vb.Cursor()
		for k, v := cur.First(); k != nil; k, v = cur.Next() {
			if binary.BigEndian.Uint64(k)+keepVersions > c.Version {
				break
			}
			if !bytes.Equal(v, c.Hash[:]) {
				if err := tx.Bucket(bBlobs).Delete(v); err != nil {
					return err
				}
			}
			if err := cur.Delete(); err != nil {
				return err
			}
		}
		if c.Round != 0 {
			return endRound(tx, c.Round)
		}
		return nil
	})
}

func endRound(tx *bolt.Tx, n uint64) error {
	m := tx.Bucket(bMeta)
	if v := m.Get(kRound); v != nil {
		var r RoundState
		if json.Unmarshal(v, &r) == nil && r.Number == n {
			r.Closed = true
			v, _ := json.Marshal(r)
			if err := m.Put(kRound, v); err != nil {
				return err
			}
		}
	}
	ub := tx.Bucket(bUploads)
	if ub.Bucket(u64key(n)) != nil {
		return ub.DeleteBucket(u64key(n))
	}
	return nil
}

func (s *boltStore) Blob(h wire.Hash) (b []byte, err error) {
	err = s.db.View(func(tx *bolt.Tx) error {
		v := tx.Bucket(bBlobs).Get(h[:])
		if v == nil {
			return fmt.Errorf("%w: blob %v", ErrNotFound, h)
		}
		b = bytes.Clone(v)
		return nil
	})
	return b, err
}

func (s *boltStore) Params(v uint64) (p []float32, err error) {
	err = s.db.View(func(tx *bolt.Tx) error {
		raw := tx.Bucket(bParams).Get(u64key(v))
		if raw == nil {
			return fmt.Errorf("%w: parameters of model version %d", ErrNotFound, v)
		}
		p, err = RawFloat32(raw, len(raw)/4, nil)
		return err
	})
	return p, err
}

func (s *boltStore) Prune(before uint64) error {
	return s.db.Update(func(tx *bolt.Tx) error {
		var latest uint64
		if v := tx.Bucket(bMeta).Get(kLatest); v != nil {
			var rec latestRec
			if err := json.Unmarshal(v, &rec); err != nil {
				return fmt.Errorf("relay: store: latest model record: %w", err)
			}
			latest = rec.Version
		}
		b := tx.Bucket(bParams)
		var old [][]byte // collected first: deleting under a cursor can skip keys
		cur := b.Cursor()
		for k, _ := cur.First(); k != nil && binary.BigEndian.Uint64(k) < before; k, _ = cur.Next() {
			if binary.BigEndian.Uint64(k) != latest {
				old = append(old, bytes.Clone(k))
			}
		}
		for _, k := range old {
			if err := b.Delete(k); err != nil {
				return err
			}
		}
		return nil
	})
}

func (s *boltStore) SaveRound(r RoundState) error {
	v, err := json.Marshal(r)
	if err != nil {
		return err
	}
	return s.db.Update(func(tx *bolt.Tx) error { return tx.Bucket(bMeta).Put(kRound, v) })
}

func (s *boltStore) LoadRound() (r RoundState, ok bool, err error) {
	err = s.db.View(func(tx *bolt.Tx) error {
		v := tx.Bucket(bMeta).Get(kRound)
		if v == nil {
			return nil
		}
		ok = true
		if err := json.Unmarshal(v, &r); err != nil {
			return fmt.Errorf("relay: store: round record: %w", err)
		}
		return nil
	})
	return r, ok, err
}

func (s *boltStore) AbandonRound(n uint64) error {
	return s.db.Update(func(tx *bolt.Tx) error { return endRound(tx, n) })
}

func metaKey(id wire.ID16) []byte { return append([]byte{'m'}, id[:]...) }
func dataKey(id wire.ID16, off uint64) []byte {
	return binary.BigEndian.AppendUint64(append([]byte{'d'}, id[:]...), off)
}

func getMeta(b *bolt.Bucket, id wire.ID16) (UploadMeta, error) {
	if b == nil {
		return UploadMeta{}, ErrUnknownUpload
	}
	v := b.Get(metaKey(id))
	if v == nil {
		return UploadMeta{}, ErrUnknownUpload
	}
	var m UploadMeta
	if err := json.Unmarshal(v, &m); err != nil {
		return m, fmt.Errorf("relay: store: upload record: %w", err)
	}
	return m, nil
}

func putMeta(b *bolt.Bucket, m UploadMeta) error {
	v, _ := json.Marshal(m)
	return b.Put(metaKey(m.ID), v)
}

func (s *boltStore) BeginUpload(round uint64, u UploadMeta) (out UploadMeta, err error) {
	err = s.db.Batch(func(tx *bolt.Tx) error {
		b, err := tx.Bucket(bUploads).CreateBucketIfNotExists(u64key(round))
		if err != nil {
			return err
		}
		old, err := getMeta(b, u.ID)
		if err == nil {
			out = old
			if old.Size != u.Size || old.CRC != u.CRC || old.Device != u.Device {
				return ErrUploadChanged
			}
			return nil
		}
		u.Offset, u.Done = 0, false
		out = u
		return putMeta(b, u)
	})
	return out, err
}

func (s *boltStore) AppendUpload(round uint64, id wire.ID16, off uint64, data []byte) (durable uint64, err error) {
	err = s.db.Batch(func(tx *bolt.Tx) error {
		b := tx.Bucket(bUploads).Bucket(u64key(round))
		m, err := getMeta(b, id)
		if err != nil {
			return err
		}
		durable = m.Offset
		if err := checkAppend(m, off, len(data)); err != nil {
			return err
		}
		if err := b.Put(dataKey(id, off), data); err != nil {
			return err
		}
		m.Offset += uint64(len(data))
		durable = m.Offset
		return putMeta(b, m)
	})
	return durable, err
}

func (s *boltStore) CompleteUpload(round uint64, id wire.ID16) error {
	return s.db.Batch(func(tx *bolt.Tx) error {
		b := tx.Bucket(bUploads).Bucket(u64key(round))
		m, err := getMeta(b, id)
		if err != nil {
			return err
		}
		m.Done = true
		return putMeta(b, m)
	})
}

func (s *boltStore) Upload(round uint64, id wire.ID16, withData bool) (m UploadMeta, data []byte, err error) {
	err = s.db.View(func(tx *bolt.Tx) error {
		b := tx.Bucket(bUploads).Bucket(u64key(round))
		m, err = getMeta(b, id)
		if err != nil || !withData {
			return err
		}
		data = make([]byte, 0, m.Offset)
		prefix := append([]byte{'d'}, id[:]...)
		c := b.Cursor()
		for k, v := c.Seek(prefix); k != nil && bytes.HasPrefix(k, prefix); k, v = c.Next() {
			data = append(data, v...)
		}
		if uint64(len(data)) != m.Offset {
			return fmt.Errorf("relay: store: upload %v has %d bytes, record says %d", id, len(data), m.Offset)
		}
		return nil
	})
	return m, data, err
}

func (s *boltStore) Uploads(round uint64) (out []UploadMeta, err error) {
	err = s.db.View(func(tx *bolt.Tx) error {
		b := tx.Bucket(bUploads).Bucket(u64key(round))
		if b == nil {
			return nil
		}
		c := b.Cursor()
		for k, v := c.Seek([]byte{'m'}); k != nil && k[0] == 'm'; k, v = c.Next() {
			var m UploadMeta
			if err := json.Unmarshal(v, &m); err != nil {
				return fmt.Errorf("relay: store: upload record: %w", err)
			}
			out = append(out, m)
		}
		return nil
	})
	return out, err
}

func (s *boltStore) Close() error { return s.db.Close() }
