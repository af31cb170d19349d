package secagg

import (
	"bytes"
	"testing"
)

// Every message decoder is strict: anything it accepts re-encodes to the
// same bytes.
func FuzzParse(f *testing.F) {
	f.Add([]byte{1, 10, 0, 0, 0, 0, 0, 0, 0, 0, 2, 0, 'h', 'i'})
	f.Add([]byte{1, 6, 1, 0, 0, 0, 0, 0, 0, 0, 2, 0, 0, 0, 1, 0, 0, 0, 2, 0, 0, 0})
	f.Fuzz(func(t *testing.T, b []byte) {
		m, err := Parse(b)
		if err != nil {
			return
		}
		again, err := m.MarshalBinary()
		if err != nil {
			t.Fatalf("accepted %v does not re-encode: %v", m.Type(), err)
		}
		if !bytes.Equal(again, b) {
			t.Fatalf("%v is not canonical:\n in % x\nout % x", m.Type(), b, again)
		}
	})
}

// A client fed arbitrary bytes never panics, and an error leaves its state
// unchanged.
func FuzzClientHandle(f *testing.F) {
	p := params(4, 3, 12, 3)
	rd := newRound(f, p, map[ClientID][]uint64{1: {1, 2, 3}, 2: {4, 5, 6}, 3: {7, 8, 9}, 4: {0, 0, 0}})
	in := stepToF(f, rd)
	f.Add(in[1])
	f.Add([]byte{1, 2, 3, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0})
	f.Fuzz(func(t *testing.T, b []byte) {
		st, _ := rd.clients[1].MarshalBinary()
		c, err := RestoreClient(st)
		if err != nil {
			t.Fatal(err)
		}
		if _, err := c.Handle(b); err != nil {
			after, _ := c.MarshalBinary()
			if c.Err() == nil && !bytes.Equal(st, after) {
				t.Fatalf("state changed by rejected input: %v", err)
			}
		}
	})
}

func stepToF(f *testing.F, rd *round) map[ClientID][]byte {
	out := map[ClientID][]byte{}
	for id, c := range rd.clients {
		if err := rd.srv.Handle(id, c.Start()); err != nil {
			f.Fatal(err)
		}
	}
	in, err := rd.srv.Advance()
	if err != nil {
		f.Fatal(err)
	}
	for id, m := range in {
		out[id] = m
	}
	return out
}

// The server fed arbitrary bytes from any sender never panics.
func FuzzServerHandle(f *testing.F) {
	p := params(4, 3, 12, 3)
	f.Add(uint32(1), []byte{1, 1, 3, 0, 0, 0, 0, 0, 0, 0, 1, 0, 0, 0})
	f.Fuzz(func(t *testing.T, from uint32, b []byte) {
		s, err := NewServer(p)
		if err != nil {
			t.Fatal(err)
		}
		if err := s.Handle(ClientID(from), b); err == nil && len(s.keys) != 1 {
			t.Fatalf("accepted message but state has %d clients", len(s.keys))
		}
	})
}

// Saved client state is external input too.
func FuzzRestoreClient(f *testing.F) {
	p := params(4, 3, 12, 3)
	c, err := newClient(p, 1, []uint64{1, 2, 3}, [32]byte{1})
	if err != nil {
		f.Fatal(err)
	}
	st, _ := c.MarshalBinary()
	f.Add(st)
	f.Fuzz(func(t *testing.T, b []byte) {
		c, err := RestoreClient(b)
		if err != nil {
			return
		}
		again, _ := c.MarshalBinary()
		if !bytes.Equal(again, b) {
			t.Fatalf("restored state re-encodes differently")
		}
	})
}

// Saved server state is read back from disk: decode it strictly.
func FuzzRestoreServer(f *testing.F) {
	p := params(4, 3, 12, 3)
	s, err := NewServer(p)
	if err != nil {
		f.Fatal(err)
	}
	c, _ := newClient(p, 1, []uint64{1, 2, 3}, [32]byte{1})
	if err := s.Handle(1, c.Start()); err != nil {
		f.Fatal(err)
	}
	st, _ := s.MarshalBinary()
	f.Add(st)
	f.Fuzz(func(t *testing.T, b []byte) {
		s, err := RestoreServer(b)
		if err != nil {
			return
		}
		if _, err := s.MarshalBinary(); err != nil {
			t.Fatal(err)
		}
	})
}
