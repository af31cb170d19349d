package wire

import (
	"bytes"
	"encoding/binary"
	"encoding/hex"
	"errors"
	"os"
	"reflect"
	"strings"
	"testing"

	"github.com/klauspost/compress/zstd"
)

func samples() []Message {
	var h Hash
	for i := range h {
		h[i] = byte(i)
	}
	id := ID16{1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15, 16}
	return []Message{
		&Hello{Protocol: 1, DeviceID: "dev-1", SessionID: id, ResumeToken: id,
			Caps: Capabilities{Platform: "linux/amd64", Accel: "go", MemoryMB: 2048, SpeedClass: 2, Flags: CapCharging}, HaveModel: 7},
		&Welcome{SessionID: id, ResumeToken: id, Resumed: true, GraceMs: 30000, Round: 3, ServerMs: 1700000000000},
		&RetryLater{MinMs: 100, MaxMs: 2000, Reason: "busy"},
		&Error{Code: CodeStaleOffset, Ref: id, Offset: 65536, Message: "stale"},
		&Task{Round: 3, Index: 2, Participants: 13, ModelVersion: 2, ModelHash: h, ModelSize: 1 << 20,
			PlanHash: h, Plan: []byte(`{"steps":5}`), DeadlineMs: 1700000060000, UploadID: id, MaxUpdate: 1 << 24,
			ParamsHash: h, BaseVersion: 1, DeltaHash: h, DeltaSize: 4096},
		&Fetch{Hash: h, Offset: 10},
		&Chunk{Hash: h, Offset: 10, Total: 13, CRC: 99, Data: []byte{1, 2, 3}},
		&UploadBegin{Round: 3, UploadID: id, Size: 100, CRC: 5, Examples: 600},
		&UploadChunk{UploadID: id, Offset: 0, CRC: 7, Data: []byte("abc")},
		&UploadAck{UploadID: id, Offset: 3, Done: true},
		&Stage{Round: 3, Stage: 1, Peer: 4, Payload: []byte("keys")},
		&RoundEnd{Round: 3, Committed: true, ModelVersion: 3, ModelHash: h, Reason: "ok"},
		&Bye{},
	}
}

func TestRoundTrip(t *testing.T) {
	for _, m := range samples() {
		for _, comp := range []bool{false, true} {
			b, err := Encode(m, comp)
			if err != nil {
				t.Fatalf("%v: %v", m.Type(), err)
			}
			got, err := Decode(b, 0)
			if err != nil {
				t.Fatalf("%v: decode: %v", m.Type(), err)
			}
			if !reflect.DeepEqual(got, m) {
				t.Fatalf("%v: round trip\n got %+v\nwant %+v", m.Type(), got, m)
			}
		}
	}
}

// TestKnownAnswer pins the byte layout of every message: another
// implementation (or a later version of this one) checks itself here.
func TestKnownAnswer(t *testing.T) {
	var sb strings.Builder
	for _, m := range samples() {
		b, _ := Encode(m, false)
		sb.WriteString(m.Type().String() + " " + hex.EncodeToString(b) + "\n")
	}
	const path = "testdata/vectors.txt"
	if os.Getenv("MURMUR_UPDATE_VECTORS") == "1" {
		if err := os.WriteFile(path, []byte(sb.String()), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	want, err := os.ReadFile(path)
	if err != nil {
		t.Fatalf("%v (regenerate with MURMUR_UPDATE_VECTORS=1)", err)
	}
	if string(want) != sb.String() {
		t.Fatalf("encoding changed; vectors differ:\n%s\nwant\n%s", sb.String(), want)
	}
}

func TestTruncatedAndTrailing(t *testing.T) {
	for _, m := range samples() {
		b, _ := Encode(m, false)
		f, err := DecodeFrame(b, 0)
		if err != nil {
			t.Fatal(err)
		}
		p := f.Payload
		if len(p) > 0 {
			if err := New(m.Type()).UnmarshalBinary(p[:len(p)-1]); !errors.Is(err, ErrMalformed) {
				t.Errorf("%v truncated: err = %v, want ErrMalformed", m.Type(), err)
			}
		}
		if err := New(m.Type()).UnmarshalBinary(append(append([]byte{}, p...), 0)); !errors.Is(err, ErrTrailingData) {
			t.Errorf("%v trailing: err = %v, want ErrTrailingData", m.Type(), err)
		}
	}
}

func TestBadFrames(t *testing.T) {
	good, _ := Encode(&Fetch{}, false)
	huge := []byte{Version, byte(TChunk), 0}
	huge = binary.AppendUvarint(huge, 1<<63)
	cases := []struct {
		name string
		b    []byte
		want error
	}{
		{"empty", nil, ErrShortFrame},
		{"garbage", []byte("GET / HTTP/1.1\r\n"), ErrVersion},
		{"version", append([]byte{9}, good[1:]...), ErrVersion},
		{"type", append([]byte{Version, 200}, good[2:]...), ErrUnknownType},
		{"flags", append([]byte{Version, byte(TFetch), 0x80}, good[3:]...), ErrFlags},
		{"2^63 length", huge, ErrTooLarge},
		{"short payload", good[:len(good)-1], ErrLength},
		{"long payload", append(append([]byte{}, good...), 1), ErrLength},
		{"bad varint", []byte{Version, byte(TFetch), 0, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff}, ErrMalformed},
		{"oversized", make([]byte, 2*DefaultMaxFrame), ErrTooLarge},
		{"bad zstd", []byte{Version, byte(TFetch), FlagZstd, 3, 1, 2, 3}, ErrDecompress},
	}
	for _, c := range cases {
		if _, err := Decode(c.b, 0); !errors.Is(err, c.want) {
			t.Errorf("%s: err = %v, want %v", c.name, err, c.want)
		}
	}
}

// TestDecompressionBomb: 64 MiB of zeros compress to a few KiB; the
// decoder must refuse them under a 1 MiB limit without inflating them.
func TestDecompressionBomb(t *testing.T) {
	enc, _ := zstd.NewWriter(nil)
	bomb := enc.EncodeAll(make([]byte, 64<<20), nil)
	frame := []byte{Version, byte(TUploadChunk), FlagZstd}
	frame = binary.AppendUvarint(frame, uint64(len(bomb)))
	frame = append(frame, bomb...)
	if len(frame) > 1<<20 {
		t.Fatalf("bomb is %d bytes; want it small", len(frame))
	}
	if _, err := DecodeFrame(frame, 1<<20); !errors.Is(err, ErrTooLarge) {
		t.Fatalf("err = %v, want ErrTooLarge", err)
	}
}

func TestFieldCaps(t *testing.T) {
	var e enc
	e.u16(1)
	e.b = binary.AppendUvarint(e.b, MaxIDLen+1)
	e.b = append(e.b, bytes.Repeat([]byte{'a'}, MaxIDLen+1)...)
	err := new(Hello).UnmarshalBinary(e.b)
	if !errors.Is(err, ErrMalformed) || !strings.Contains(err.Error(), "hello.device_id") {
		t.Fatalf("err = %v, want a malformed hello.device_id", err)
	}
	if err := new(Chunk).UnmarshalBinary((&enc{}).b); !errors.Is(err, ErrMalformed) {
		t.Fatalf("empty chunk: %v", err)
	}
	c := &Chunk{Offset: 10, Total: 11, Data: []byte{1, 2}}
	b, _ := c.MarshalBinary()
	if err := new(Chunk).UnmarshalBinary(b); err == nil {
		t.Fatal("chunk past its total accepted")
	}
	// A delta offer names both its base and its size, or neither.
	for _, tk := range []*Task{{BaseVersion: 3}, {DeltaSize: 10}} {
		b, _ := tk.MarshalBinary()
		if err := new(Task).UnmarshalBinary(b); !errors.Is(err, ErrMalformed) || !strings.Contains(err.Error(), "task.base_version") {
			t.Fatalf("task %+v: err = %v, want a malformed task.base_version", tk, err)
		}
	}
}

func TestCodes(t *testing.T) {
	if !CodeForbidden.Fatal() || CodeDuplicate.Fatal() {
		t.Fatal("fatal classification wrong")
	}
	if got := CodeFromClose(CodeTooLarge.CloseStatus()); got != CodeTooLarge {
		t.Fatalf("CodeFromClose = %v", got)
	}
	for c := CodeBadFrame; c <= CodeInternal; c++ {
		if strings.HasPrefix(c.String(), "code(") {
			t.Errorf("code %d has no name", c)
		}
	}
}

func FuzzDecode(f *testing.F) {
	for _, m := range samples() {
		b, _ := Encode(m, false)
		f.Add(b)
	}
	f.Fuzz(func(t *testing.T, b []byte) {
		m, err := Decode(b, 1<<16)
		if err != nil {
			return
		}
		// Anything accepted must re-encode to a frame that decodes to the same message.
		b2, err := Encode(m, false)
		if err != nil {
			t.Fatalf("re-encode: %v", err)
		}
		m2, err := Decode(b2, 1<<16)
		if err != nil || !reflect.DeepEqual(m, m2) {
			t.Fatalf("re-decode: %v\n%+v\n%+v", err, m, m2)
		}
	})
}
