package secagg

import (
	"encoding/binary"
	"fmt"

	"github.com/murmur-fl/murmur/secagg/encode"
)

// The server is saved as the log of what changed it (accepted messages,
// Advance calls) plus the running sum: masked inputs are logged by digest
// only, so the saved state stays small (the sum, the keys, the shares).
type logEntry struct {
	kind uint8
	from ClientID
	data []byte
}

const (
	logMessage = 1 // an accepted message: data = the message
	logMasked  = 2 // an accepted MaskedInput: data = its SHA-256
	logAdvance = 3 // Advance was called
)

// MarshalBinary saves the server so a relay that restarts can continue the
// round. Layout: "MSAS" | version u8 | params (32 bytes) | count u32 |
// count × (kind u8 | from u32 | len u32 | data) | sum (PackedLen(Len, B)).
func (s *Server) MarshalBinary() ([]byte, error) {
	b := append([]byte("MSAS"), version)
	b = s.p.encode(b)
	b = binary.LittleEndian.AppendUint32(b, uint32(len(s.log)))
	for _, e := range s.log {
		b = append(b, e.kind)
		b = putID(b, e.from)
		b = binary.LittleEndian.AppendUint32(b, uint32(len(e.data)))
		b = append(b, e.data...)
	}
	return encode.Pack(b, s.sum, s.p.ModBits), nil
}

// RestoreServer rebuilds a server saved by MarshalBinary by replaying its
// log; outgoing messages of replayed stages are discarded (the clients have
// them; Advance of the current stage will produce the next ones).
func RestoreServer(b []byte) (*Server, error) {
	bad := func(format string, a ...any) error {
		return fmt.Errorf("%w: server state: %s", ErrMalformed, fmt.Sprintf(format, a...))
	}
	if len(b) < 5+32+4 || string(b[:4]) != "MSAS" || b[4] != version {
		return nil, bad("bad header")
	}
	r := &reader{b: b[5:]}
	var p Params
	p.RoundID = binary.LittleEndian.Uint64(r.bytes(8, "round"))
	p.N, p.Threshold, p.Degree = int(r.u32("N")), int(r.u32("T")), int(r.u32("K"))
	p.ModBits, p.Len = int(r.u32("B")), int(r.u32("Len"))
	if r.u32("pad") != 0 {
		return nil, bad("nonzero padding after params")
	}
	if r.err != nil {
		return nil, r.err
	}
	s, err := NewServer(p)
	if err != nil {
		return nil, err
	}
	n := r.count(9, "log entry")
	for i := range n {
		kind, from := r.u8("kind"), ClientID(r.u32("from"))
		data := r.bytes(int(r.u32("length")), "entry")
		if r.err != nil {
			return nil, r.err
		}
		switch kind {
		case logMessage:
			if err := s.Handle(from, data); err != nil {
				return nil, fmt.Errorf("secagg: replaying saved server, entry %d: %w", i, err)
			}
		case logMasked:
			if s.stage != StageMaskedInput || len(data) != 32 || !s.p.valid(from) {
				return nil, bad("entry %d: misplaced masked-input record", i)
			}
			if _, ok := s.shares[from]; !ok {
				return nil, bad("entry %d: masked input from %d, which did not share keys", i, from)
			}
			if _, dup := s.masked[from]; dup {
				return nil, bad("entry %d: second masked input from %d", i, from)
			}
			s.masked[from] = [32]byte(data)
			s.log = append(s.log, logEntry{logMasked, from, data})
		case logAdvance:
			if s.stage >= StageDone {
				return nil, bad("entry %d: Advance after the end", i)
			}
			s.Advance() // an abort replays as an abort
		default:
			return nil, bad("entry %d: kind %d", i, kind)
		}
	}
	sum, err := encode.Unpack(nil, r.b, p.Len, p.ModBits)
	if err != nil {
		return nil, bad("sum: %v", err)
	}
	s.sum = sum
	return s, nil
}
