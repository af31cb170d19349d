package client

import (
	"errors"
	"os"
	"path/filepath"
	"strings"
	"sync"
)

// Storage keeps the client's state across application restarts: the
// session, partial downloads and pending uploads. Keys are short ASCII
// names. Get returns ErrNotExist for a missing key.
type Storage interface {
	Get(key string) ([]byte, error)
	Put(key string, v []byte) error
	Append(key string, v []byte) error
	Delete(key string) error
}

// ErrNotExist is returned by Storage.Get for a missing key.
var ErrNotExist = errors.New("client: no such state key")

// MemStorage keeps state in memory (it does not survive a restart).
func MemStorage() Storage { return &memStorage{m: map[string][]byte{}} }

type memStorage struct {
	mu sync.Mutex
	m  map[string][]byte
}

func (s *memStorage) Get(k string) ([]byte, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	v, ok := s.m[k]
	if !ok {
		return nil, ErrNotExist
	}
	return append([]byte(nil), v...), nil
}
func (s *memStorage) Put(k string, v []byte) error {
	s.mu.Lock()
	s.m[k] = append([]byte(nil), v...)
	s.mu.Unlock()
	return nil
}
func (s *memStorage) Append(k string, v []byte) error {
	s.mu.Lock()
	s.m[k] = append(s.m[k], v...)
	s.mu.Unlock()
	return nil
}
func (s *memStorage) Delete(k string) error {
	s.mu.Lock()
	delete(s.m, k)
	s.mu.Unlock()
	return nil
}

// DirStorage keeps state as files in dir (created if needed). Put is
// atomic (write to a temporary file, then rename).
func DirStorage(dir string) (Storage, error) {
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return nil, err
	}
	return dirStorage(dir), nil
}

type dirStorage string

func (d dirStorage) path(k string) string {
	return filepath.Join(string(d), strings.NewReplacer("/", "_", "\\", "_", "..", "_").Replace(k))
}

func (d dirStorage) Get(k string) ([]byte, error) {
	b, err := os.ReadFile(d.path(k))
	if errors.Is(err, os.ErrNotExist) {
		return nil, ErrNotExist
	}
	return b, err
}

func (d dirStorage) Put(k string, v []byte) error {
	tmp := d.path(k) + ".tmp"
	f, err := os.Create(tmp)
	if err != nil {
		return err
	}
	_, err = f.Write(v)
	if err == nil {
		err = f.Sync()
	}
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		os.Remove(tmp)
		return err
	}
	return os.Rename(tmp, d.path(k))
}

func (d dirStorage) Append(k string, v []byte) error {
	f, err := os.OpenFile(d.path(k), os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o600)
	if err != nil {
		return err
	}
	_, err = f.Write(v)
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	return err
}

func (d dirStorage) Delete(k string) error {
	err := os.Remove(d.path(k))
	if errors.Is(err, os.ErrNotExist) {
		return nil
	}
	return err
}
