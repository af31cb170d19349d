package wire

import (
	"encoding/hex"
	"fmt"
)

// Type identifies a message; it is the second byte of every frame.
type Type uint8

// Message types. Direction: C = device (client), R = relay.
const (
	THello       Type = 1  // C->R: first message of every connection
	TWelcome     Type = 2  // R->C: session established or resumed
	TRetryLater  Type = 3  // R->C: come back inside this window (pace steering)
	TError       Type = 4  // R->C: a request failed (fatal codes precede a close)
	TTask        Type = 5  // R->C: the device is selected for a round
	TFetch       Type = 6  // C->R: send model bytes from an offset
	TChunk       Type = 7  // R->C: one piece of a model download
	TUploadBegin Type = 8  // C->R: declare (or resume) the update upload
	TUploadChunk Type = 9  // C->R: one piece of the update
	TUploadAck   Type = 10 // R->C: durable offset of an upload
	TStage       Type = 11 // C<->R: a secure-aggregation stage message
	TRoundEnd    Type = 12 // R->C: the round committed or was abandoned
	TBye         Type = 13 // C->R: the device leaves; its session ends now
	typeEnd      Type = 14
)

// Known reports whether t is a defined message type.
func (t Type) Known() bool { return t >= THello && t < typeEnd }

func (t Type) String() string {
	names := [...]string{"", "Hello", "Welcome", "RetryLater", "Error", "Task", "Fetch", "Chunk",
		"UploadBegin", "UploadChunk", "UploadAck", "Stage", "RoundEnd", "Bye"}
	if t.Known() {
		return names[t]
	}
	return fmt.Sprintf("Type(%d)", uint8(t))
}

// Field caps: no decoder allocates more than these for one field.
const (
	MaxIDLen     = 128     // device ids
	MaxTextLen   = 1024    // reasons, error messages, platform names
	MaxPlanLen   = 1 << 20 // the round plan
	MaxChunkData = DefaultMaxFrame - 1024
)

// Message is implemented by every message struct.
type Message interface {
	Type() Type
	MarshalBinary() ([]byte, error)
	UnmarshalBinary([]byte) error
}

// ID16 is a 16-byte random identifier (session ids, resume tokens, upload ids).
type ID16 [16]byte

// Hash is a SHA-256 content hash (models, plans, the core module).
type Hash [32]byte

// IsZero reports whether the id is unset.
func (id ID16) IsZero() bool { return id == ID16{} }

// IsZero reports whether the hash is unset.
func (h Hash) IsZero() bool { return h == Hash{} }

func (id ID16) String() string { return fmt.Sprintf("%x", id[:]) }
func (h Hash) String() string  { return fmt.Sprintf("%x", h[:]) }

// Capability flags a device reports in Hello.
const (
	CapCharging  = 1 << 0
	CapUnmetered = 1 << 1
	CapIdle      = 1 << 2
)

// Capabilities describe what a device can do; the relay may use them for
// eligibility and to scale local work.
type Capabilities struct {
	Platform   string // "linux/amd64", "browser", "android", ...
	Accel      string // "go", "blas", "webgpu", ...
	MemoryMB   uint32
	SpeedClass uint8 // 0 unknown, 1 slow .. 3 fast
	Flags      uint32
}

func (c *Capabilities) enc(e *enc) {
	e.str(c.Platform)
	e.str(c.Accel)
	e.u32(c.MemoryMB)
	e.u8(c.SpeedClass)
	e.u32(c.Flags)
}

func (c *Capabilities) dec(d *dec) {
	c.Platform = d.str("caps.platform", MaxTextLen)
	c.Accel = d.str("caps.accel", MaxTextLen)
	c.MemoryMB = d.u32("caps.memory_mb")
	c.SpeedClass = d.u8("caps.speed_class")
	c.Flags = d.u32("caps.flags")
}

// Hello opens every connection. SessionID and ResumeToken are zero for a
// new session and copied from Welcome to resume one.
type Hello struct {
	Protocol    uint16
	DeviceID    string
	SessionID   ID16
	ResumeToken ID16
	Caps        Capabilities
	// HaveModel is the model version the device already holds (0: none);
	// the relay may answer with a delta against it.
	HaveModel uint64
}

func (*Hello) Type() Type { return THello }
func (m *Hello) MarshalBinary() ([]byte, error) {
	var e enc
	e.u16(m.Protocol)
	e.str(m.DeviceID)
	e.fixed(m.SessionID[:])
	e.fixed(m.ResumeToken[:])
	m.Caps.enc(&e)
	e.u64(m.HaveModel)
	return e.b, nil
}
func (m *Hello) UnmarshalBinary(b []byte) error {
	d := dec{b: b}
	m.Protocol = d.u16("hello.protocol")
	m.DeviceID = d.str("hello.device_id", MaxIDLen)
	d.fixed("hello.session_id", m.SessionID[:])
	d.fixed("hello.resume_token", m.ResumeToken[:])
	m.Caps.dec(&d)
	m.HaveModel = d.u64("hello.have_model")
	if d.err == nil && m.DeviceID == "" {
		d.fail("hello.device_id", "empty")
	}
	return d.done()
}

// Welcome answers Hello.
type Welcome struct {
	SessionID   ID16
	ResumeToken ID16
	Resumed     bool   // the previous session (and its stage) was restored
	GraceMs     uint32 // how long the relay keeps the session after a cut
	Round       uint64 // the relay's current round (0: none)
	ServerMs    int64  // relay clock, Unix milliseconds
}

func (*Welcome) Type() Type { return TWelcome }
func (m *Welcome) MarshalBinary() ([]byte, error) {
	var e enc
	e.fixed(m.SessionID[:])
	e.fixed(m.ResumeToken[:])
	e.bool(m.Resumed)
	e.u32(m.GraceMs)
	e.u64(m.Round)
	e.i64(m.ServerMs)
	return e.b, nil
}
func (m *Welcome) UnmarshalBinary(b []byte) error {
	d := dec{b: b}
	d.fixed("welcome.session_id", m.SessionID[:])
	d.fixed("welcome.resume_token", m.ResumeToken[:])
	m.Resumed = d.bool("welcome.resumed")
	m.GraceMs = d.u32("welcome.grace_ms")
	m.Round = d.u64("welcome.round")
	m.ServerMs = d.i64("welcome.server_ms")
	return d.done()
}

// RetryLater tells a device to disconnect and come back at a uniformly
// random moment inside [MinMs, MaxMs] from now (pace steering).
type RetryLater struct {
	MinMs, MaxMs uint32
	Reason       string
}

func (*RetryLater) Type() Type { return TRetryLater }
func (m *RetryLater) MarshalBinary() ([]byte, error) {
	var e enc
	e.u32(m.MinMs)
	e.u32(m.MaxMs)
	e.str(m.Reason)
	return e.b, nil
}
func (m *RetryLater) UnmarshalBinary(b []byte) error {
	d := dec{b: b}
	m.MinMs = d.u32("retry.min_ms")
	m.MaxMs = d.u32("retry.max_ms")
	m.Reason = d.str("retry.reason", MaxTextLen)
	if d.err == nil && m.MaxMs < m.MinMs {
		d.fail("retry.max_ms", "smaller than min_ms")
	}
	return d.done()
}

// Error reports a failed request. Ref names what it is about (an upload id,
// or zero); Offset carries the durable offset for upload errors so the
// device can resynchronise.
type Error struct {
	Code    Code
	Ref     ID16
	Offset  uint64
	Message string
}

func (*Error) Type() Type { return TError }
func (m *Error) Error() string {
	return fmt.Sprintf("relay: %v: %s", m.Code, m.Message)
}
func (m *Error) MarshalBinary() ([]byte, error) {
	var e enc
	e.u16(uint16(m.Code))
	e.fixed(m.Ref[:])
	e.u64(m.Offset)
	e.str(m.Message)
	return e.b, nil
}
func (m *Error) UnmarshalBinary(b []byte) error {
	d := dec{b: b}
	m.Code = Code(d.u16("error.code"))
	d.fixed("error.ref", m.Ref[:])
	m.Offset = d.u64("error.offset")
	m.Message = d.str("error.message", MaxTextLen)
	return d.done()
}

// Task selects the device for a round.
type Task struct {
	Round        uint64
	Index        uint32 // the device's 1-based index among the round's participants
	Participants uint32 // how many were selected
	ModelVersion uint64
	ModelHash    Hash
	ModelSize    uint64
	PlanHash     Hash
	Plan         []byte // opaque to the protocol; see relay.Plan
	DeadlineMs   int64  // Unix milliseconds: uploads after it are rejected
	UploadID     ID16   // the id the device must use for its update
	MaxUpdate    uint64 // largest update accepted, in bytes
	// ParamsHash is the SHA-256 of the model's parameters as little-endian
	// float32: what the snapshot (ModelHash) and the delta (DeltaHash) both
	// decode to, so a device checks the model it reconstructed.
	ParamsHash Hash
	// BaseVersion, when not 0, offers a delta: the blob DeltaHash
	// (DeltaSize bytes) turns the parameters of BaseVersion, which the
	// relay believes the device holds, into those of ModelVersion. A device
	// that does not hold BaseVersion downloads the snapshot ModelHash.
	BaseVersion uint64
	DeltaHash   Hash
	DeltaSize   uint64
}

func (*Task) Type() Type { return TTask }
func (m *Task) MarshalBinary() ([]byte, error) {
	var e enc
	e.u64(m.Round)
	e.u32(m.Index)
	e.u32(m.Participants)
	e.u64(m.ModelVersion)
	e.fixed(m.ModelHash[:])
	e.u64(m.ModelSize)
	e.fixed(m.PlanHash[:])
	e.bytes(m.Plan)
	e.i64(m.DeadlineMs)
	e.fixed(m.UploadID[:])
	e.u64(m.MaxUpdate)
	e.fixed(m.ParamsHash[:])
	e.u64(m.BaseVersion)
	e.fixed(m.DeltaHash[:])
	e.u64(m.DeltaSize)
	return e.b, nil
}
func (m *Task) UnmarshalBinary(b []byte) error {
	d := dec{b: b}
	m.Round = d.u64("task.round")
	m.Index = d.u32("task.index")
	m.Participants = d.u32("task.participants")
	m.ModelVersion = d.u64("task.model_version")
	d.fixed("task.model_hash", m.ModelHash[:])
	m.ModelSize = d.u64("task.model_size")
	d.fixed("task.plan_hash", m.PlanHash[:])
	m.Plan = d.bytes("task.plan", MaxPlanLen)
	m.DeadlineMs = d.i64("task.deadline_ms")
	d.fixed("task.upload_id", m.UploadID[:])
	m.MaxUpdate = d.u64("task.max_update")
	d.fixed("task.params_hash", m.ParamsHash[:])
	m.BaseVersion = d.u64("task.base_version")
	d.fixed("task.delta_hash", m.DeltaHash[:])
	m.DeltaSize = d.u64("task.delta_size")
	if d.err == nil && (m.BaseVersion == 0) != (m.DeltaSize == 0) {
		d.fail("task.base_version", "a delta needs both a base version and a size")
	}
	return d.done()
}

// Fetch asks for the blob with the given hash from Offset on; the relay
// streams Chunks until the end.
type Fetch struct {
	Hash   Hash
	Offset uint64
}

func (*Fetch) Type() Type { return TFetch }
func (m *Fetch) MarshalBinary() ([]byte, error) {
	var e enc
	e.fixed(m.Hash[:])
	e.u64(m.Offset)
	return e.b, nil
}
func (m *Fetch) UnmarshalBinary(b []byte) error {
	d := dec{b: b}
	d.fixed("fetch.hash", m.Hash[:])
	m.Offset = d.u64("fetch.offset")
	return d.done()
}

// Chunk is one piece of a download. CRC is CRC-32C (Castagnoli) of Data.
type Chunk struct {
	Hash   Hash
	Offset uint64
	Total  uint64
	CRC    uint32
	Data   []byte
}

func (*Chunk) Type() Type { return TChunk }
func (m *Chunk) MarshalBinary() ([]byte, error) {
	var e enc
	e.b = make([]byte, 0, 64+len(m.Data))
	e.fixed(m.Hash[:])
	e.u64(m.Offset)
	e.u64(m.Total)
	e.u32(m.CRC)
	e.bytes(m.Data)
	return e.b, nil
}
func (m *Chunk) UnmarshalBinary(b []byte) error {
	d := dec{b: b}
	d.fixed("chunk.hash", m.Hash[:])
	m.Offset = d.u64("chunk.offset")
	m.Total = d.u64("chunk.total")
	m.CRC = d.u32("chunk.crc")
	m.Data = d.bytes("chunk.data", MaxChunkData)
	if d.err == nil && (m.Offset > m.Total || uint64(len(m.Data)) > m.Total-m.Offset) {
		d.fail("chunk.offset", "chunk extends past total")
	}
	return d.done()
}

// UploadBegin declares the device's update for a round, or resumes it:
// the relay answers with an UploadAck carrying the durable offset.
type UploadBegin struct {
	Round    uint64
	UploadID ID16
	Size     uint64 // total update bytes
	CRC      uint32 // CRC-32C of the whole update
	Examples uint64 // local examples trained on (the FedAvg weight)
}

func (*UploadBegin) Type() Type { return TUploadBegin }
func (m *UploadBegin) MarshalBinary() ([]byte, error) {
	var e enc
	e.u64(m.Round)
	e.fixed(m.UploadID[:])
	e.u64(m.Size)
	e.u32(m.CRC)
	e.u64(m.Examples)
	return e.b, nil
}
func (m *UploadBegin) UnmarshalBinary(b []byte) error {
	d := dec{b: b}
	m.Round = d.u64("upload_begin.round")
	d.fixed("upload_begin.upload_id", m.UploadID[:])
	m.Size = d.u64("upload_begin.size")
	m.CRC = d.u32("upload_begin.crc")
	m.Examples = d.u64("upload_begin.examples")
	return d.done()
}

// UploadChunk carries update bytes at Offset, which must equal the durable
// offset the relay last acknowledged. CRC is CRC-32C of Data.
type UploadChunk struct {
	UploadID ID16
	Offset   uint64
	CRC      uint32
	Data     []byte
}

func (*UploadChunk) Type() Type { return TUploadChunk }
func (m *UploadChunk) MarshalBinary() ([]byte, error) {
	var e enc
	e.b = make([]byte, 0, 40+len(m.Data))
	e.fixed(m.UploadID[:])
	e.u64(m.Offset)
	e.u32(m.CRC)
	e.bytes(m.Data)
	return e.b, nil
}
func (m *UploadChunk) UnmarshalBinary(b []byte) error {
	d := dec{b: b}
	d.fixed("upload_chunk.upload_id", m.UploadID[:])
	m.Offset = d.u64("upload_chunk.offset")
	m.CRC = d.u32("upload_chunk.crc")
	m.Data = d.bytes("upload_chunk.data", MaxChunkData)
	return d.done()
}

// UploadAck reports the durable offset; Done means the update is complete,
// verified and counted.
type UploadAck struct {
	UploadID ID16
	Offset   uint64
	Done     bool
}

func (*UploadAck) Type() Type { return TUploadAck }
func (m *UploadAck) MarshalBinary() ([]byte, error) {
	var e enc
	e.fixed(m.UploadID[:])
	e.u64(m.Offset)
	e.bool(m.Done)
	return e.b, nil
}
func (m *UploadAck) UnmarshalBinary(b []byte) error {
	d := dec{b: b}
	d.fixed("upload_ack.upload_id", m.UploadID[:])
	m.Offset = d.u64("upload_ack.offset")
	m.Done = d.bool("upload_ack.done")
	return d.done()
}

// Stage carries one secure-aggregation stage message. Device->relay: Peer
// is the recipient's index (0: the relay itself). Relay->device: Peer is
// the sender's index (0: the relay). The relay never trusts a sender index
// from a device; it uses the session's own.
type Stage struct {
	Round   uint64
	Stage   uint8
	Peer    uint32
	Payload []byte
}

func (*Stage) Type() Type { return TStage }
func (m *Stage) MarshalBinary() ([]byte, error) {
	var e enc
	e.b = make([]byte, 0, 24+len(m.Payload))
	e.u64(m.Round)
	e.u8(m.Stage)
	e.u32(m.Peer)
	e.bytes(m.Payload)
	return e.b, nil
}
func (m *Stage) UnmarshalBinary(b []byte) error {
	d := dec{b: b}
	m.Round = d.u64("stage.round")
	m.Stage = d.u8("stage.stage")
	m.Peer = d.u32("stage.peer")
	m.Payload = d.bytes("stage.payload", MaxChunkData)
	return d.done()
}

// RoundEnd tells the round's participants how it ended.
type RoundEnd struct {
	Round        uint64
	Committed    bool
	ModelVersion uint64 // the new global version when committed
	ModelHash    Hash
	Reason       string
}

func (*RoundEnd) Type() Type { return TRoundEnd }
func (m *RoundEnd) MarshalBinary() ([]byte, error) {
	var e enc
	e.u64(m.Round)
	e.bool(m.Committed)
	e.u64(m.ModelVersion)
	e.fixed(m.ModelHash[:])
	e.str(m.Reason)
	return e.b, nil
}
func (m *RoundEnd) UnmarshalBinary(b []byte) error {
	d := dec{b: b}
	m.Round = d.u64("round_end.round")
	m.Committed = d.bool("round_end.committed")
	m.ModelVersion = d.u64("round_end.model_version")
	d.fixed("round_end.model_hash", m.ModelHash[:])
	m.Reason = d.str("round_end.reason", MaxTextLen)
	return d.done()
}

// Bye ends the session without waiting for the grace period.
type Bye struct{}

func (*Bye) Type() Type                     { return TBye }
func (*Bye) MarshalBinary() ([]byte, error) { return nil, nil }
func (*Bye) UnmarshalBinary(b []byte) error {
	if len(b) != 0 {
		return fmt.Errorf("%w: bye carries %d bytes", ErrTrailingData, len(b))
	}
	return nil
}

// New returns an empty message of type t, or nil if t is unknown.
func New(t Type) Message {
	switch t {
	case THello:
		return new(Hello)
	case TWelcome:
		return new(Welcome)
	case TRetryLater:
		return new(RetryLater)
	case TError:
		return new(Error)
	case TTask:
		return new(Task)
	case TFetch:
		return new(Fetch)
	case TChunk:
		return new(Chunk)
	case TUploadBegin:
		return new(UploadBegin)
	case TUploadChunk:
		return new(UploadChunk)
	case TUploadAck:
		return new(UploadAck)
	case TStage:
		return new(Stage)
	case TRoundEnd:
		return new(RoundEnd)
	case TBye:
		return new(Bye)
	}
	return nil
}

// Encode frames m. Compression is applied only where it pays (see AppendFrame).
func Encode(m Message, compress bool) ([]byte, error) {
	p, err := m.MarshalBinary()
	if err != nil {
		return nil, err
	}
	if len(p) > DefaultMaxFrame {
		return nil, fmt.Errorf("%w: %v payload is %d bytes", ErrTooLarge, m.Type(), len(p))
	}
	return AppendFrame(make([]byte, 0, len(p)+maxHeader), m.Type(), p, compress), nil
}

// Decode parses a frame and the message inside it. maxSize is as for
// DecodeFrame.
func Decode(b []byte, maxSize int) (Message, error) {
	f, err := DecodeFrame(b, maxSize)
	if err != nil {
		return nil, err
	}
	m := New(f.Type)
	if err := m.UnmarshalBinary(f.Payload); err != nil {
		return nil, fmt.Errorf("%v: %w", f.Type, err)
	}
	return m, nil
}

// MarshalText writes the hash as hex (for JSON plans and stores).
func (h Hash) MarshalText() ([]byte, error) { return []byte(h.String()), nil }

// UnmarshalText reads 64 hex digits.
func (h *Hash) UnmarshalText(b []byte) error { return unhex(h[:], b, "hash") }

// MarshalText writes the id as hex.
func (id ID16) MarshalText() ([]byte, error) { return []byte(id.String()), nil }

// UnmarshalText reads 32 hex digits.
func (id *ID16) UnmarshalText(b []byte) error { return unhex(id[:], b, "id") }

func unhex(dst, b []byte, what string) error {
	if len(b) != 2*len(dst) {
		return fmt.Errorf("wire: %s must be %d hex digits, got %d", what, 2*len(dst), len(b))
	}
	if _, err := hex.Decode(dst, b); err != nil {
		return fmt.Errorf("wire: %s: %w", what, err)
	}
	return nil
}
