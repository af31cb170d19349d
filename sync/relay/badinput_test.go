package relay_test

import (
	"context"
	"encoding/binary"
	"errors"
	"hash/crc32"
	"math"
	"net/http"
	"testing"
	"time"

	"github.com/coder/websocket"
	"github.com/klauspost/compress/zstd"

	"github.com/murmur-fl/murmur/sync/relay"
	"github.com/murmur-fl/murmur/sync/wire"
)

var castagnoli = crc32.MakeTable(crc32.Castagnoli)

type raw struct {
	t  *testing.T
	ws *websocket.Conn
}

func (h *harness) dial(ctx context.Context, token string) (*raw, *http.Response, error) {
	hdr := http.Header{}
	if token != "" {
		hdr.Set("Authorization", "Bearer "+token)
	}
	ws, resp, err := websocket.Dial(ctx, h.url(), &websocket.DialOptions{HTTPHeader: hdr, Subprotocols: []string{relay.Subprotocol}})
	if err != nil {
		return nil, resp, err
	}
	ws.SetReadLimit(8 << 20)
	h.t.Cleanup(func() { ws.CloseNow() })
	return &raw{h.t, ws}, resp, nil
}

func (r *raw) sendRaw(ctx context.Context, b []byte) {
	r.t.Helper()
	if err := r.ws.Write(ctx, websocket.MessageBinary, b); err != nil {
		r.t.Fatalf("write: %v", err)
	}
}

func (r *raw) send(ctx context.Context, m wire.Message) {
	r.t.Helper()
	b, err := wire.Encode(m, false)
	if err != nil {
		r.t.Fatal(err)
	}
	r.sendRaw(ctx, b)
}

func (r *raw) recv(ctx context.Context) (wire.Message, error) {
	_, b, err := r.ws.Read(ctx)
	if err != nil {
		return nil, err
	}
	return wire.Decode(b, 8<<20)
}

// expect reads until a message of type T arrives.
func expect[T wire.Message](ctx context.Context, r *raw) T {
	r.t.Helper()
	for {
		m, err := r.recv(ctx)
		if err != nil {
			r.t.Fatalf("waiting for %T: %v", *new(T), err)
		}
		if v, ok := m.(T); ok {
			return v
		}
	}
}

// closeStatus reads until the relay closes and returns the close status.
func (r *raw) closeStatus(ctx context.Context) websocket.StatusCode {
	for {
		if _, err := r.recv(ctx); err != nil {
			var ce websocket.CloseError
			if errors.As(err, &ce) {
				return ce.Code
			}
			if _, _, err := r.ws.Read(ctx); err != nil {
				return websocket.CloseStatus(err)
			}
		}
	}
}

func (r *raw) hello(ctx context.Context, id string) *wire.Welcome {
	r.send(ctx, &wire.Hello{Protocol: wire.Protocol, DeviceID: id})
	return expect[*wire.Welcome](ctx, r)
}

func TestBadConnections(t *testing.T) {
	h := startRelay(t, relay.Config{InitialParams: fill(16, 0), MaxFrame: 1 << 20,
		Round: relay.RoundConfig{Goal: 100, SelectWait: time.Hour}})
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()

	if _, resp, err := h.dial(ctx, "nobody.AAAA"); err == nil || resp == nil || resp.StatusCode != http.StatusUnauthorized {
		t.Fatalf("unknown token: err=%v resp=%v, want HTTP 401", err, resp)
	}
	if _, resp, err := h.dial(ctx, ""); err == nil || resp.StatusCode != http.StatusUnauthorized {
		t.Fatalf("no token: err=%v, want HTTP 401", err)
	}

	bombEnc, _ := zstd.NewWriter(nil)
	bomb := bombEnc.EncodeAll(make([]byte, 256<<20), nil)
	bombFrame := binary.AppendUvarint([]byte{wire.Version, byte(wire.TUploadChunk), wire.FlagZstd}, uint64(len(bomb)))
	bombFrame = append(bombFrame, bomb...)
	huge := binary.AppendUvarint([]byte{wire.Version, byte(wire.TUploadChunk), 0}, 1<<63)
	hello, _ := wire.Encode(&wire.Hello{Protocol: wire.Protocol, DeviceID: "eve"}, false)

	cases := []struct {
		name  string
		hello bool // send a valid Hello first
		frame []byte
		text  bool
		want  websocket.StatusCode
	}{
		{"garbage", false, []byte("\x00\x01garbage"), false, websocket.StatusCode(wire.CodeBadFrame.CloseStatus())},
		{"text message", true, []byte("hello"), true, websocket.StatusCode(wire.CodeBadFrame.CloseStatus())},
		{"oversized frame", true, make([]byte, 2<<20), false, websocket.StatusMessageTooBig},
		{"decompression bomb", true, bombFrame, false, websocket.StatusCode(wire.CodeTooLarge.CloseStatus())},
		{"2^63 length", true, huge, false, websocket.StatusCode(wire.CodeTooLarge.CloseStatus())},
		{"not hello first", false, mustEncode(&wire.Fetch{}), false, websocket.StatusCode(wire.CodeProtocol.CloseStatus())},
		{"relay-only message", true, mustEncode(&wire.Welcome{}), false, websocket.StatusCode(wire.CodeProtocol.CloseStatus())},
		{"bad version", false, mustEncode(&wire.Hello{Protocol: 9, DeviceID: "eve"}), false, websocket.StatusCode(wire.CodeBadVersion.CloseStatus())},
		// Protocol 1 devices cannot decode download version 3 deltas.
		{"protocol 1", false, mustEncode(&wire.Hello{Protocol: 1, DeviceID: "eve"}), false, websocket.StatusCode(wire.CodeBadVersion.CloseStatus())},
		{"forged device id", false, mustEncode(&wire.Hello{Protocol: wire.Protocol, DeviceID: "alice"}), false, websocket.StatusCode(wire.CodeForbidden.CloseStatus())},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			r, _, err := h.dial(ctx, secret.Issue("eve"))
			if err != nil {
				t.Fatal(err)
			}
			if c.hello {
				r.sendRaw(ctx, hello)
				expect[*wire.Welcome](ctx, r)
			}
			typ := websocket.MessageBinary
			if c.text {
				typ = websocket.MessageText
			}
			r.ws.Write(ctx, typ, c.frame)
			if got := r.closeStatus(ctx); got != c.want {
				t.Fatalf("close status %d, want %d", got, c.want)
			}
		})
	}

	t.Run("bad resume token", func(t *testing.T) {
		r, _, _ := h.dial(ctx, secret.Issue("carol"))
		w := r.hello(ctx, "carol")
		r.ws.CloseNow()
		r2, _, _ := h.dial(ctx, secret.Issue("carol"))
		r2.send(ctx, &wire.Hello{Protocol: wire.Protocol, DeviceID: "carol", SessionID: w.SessionID, ResumeToken: wire.ID16{1}})
		if got := r2.closeStatus(ctx); got != websocket.StatusCode(wire.CodeBadResume.CloseStatus()) {
			t.Fatalf("close status %d", got)
		}
		// the right token resumes
		r3, _, _ := h.dial(ctx, secret.Issue("carol"))
		r3.send(ctx, &wire.Hello{Protocol: wire.Protocol, DeviceID: "carol", SessionID: w.SessionID, ResumeToken: w.ResumeToken})
		if w3 := expect[*wire.Welcome](ctx, r3); !w3.Resumed || w3.SessionID != w.SessionID {
			t.Fatalf("resume: %+v", w3)
		}
	})

	t.Run("rate limit", func(t *testing.T) {
		r, _, _ := h.dial(ctx, secret.Issue("flood"))
		r.hello(ctx, "flood")
		fetch := mustEncode(&wire.Fetch{})
		for range 1000 {
			if r.ws.Write(ctx, websocket.MessageBinary, fetch) != nil {
				break
			}
		}
		if got := r.closeStatus(ctx); got != websocket.StatusCode(wire.CodeRateLimited.CloseStatus()) {
			t.Fatalf("close status %d", got)
		}
	})
}

func mustEncode(m wire.Message) []byte {
	b, err := wire.Encode(m, false)
	if err != nil {
		panic(err)
	}
	return b
}

// TestBadUploads attacks the upload path from a selected device while a
// healthy device completes the round: each attack gets its error code, the
// session survives, and the round commits the healthy update only.
func TestBadUploads(t *testing.T) {
	const dim = 64
	h := startRelay(t, relay.Config{InitialParams: fill(dim, 0),
		Round: relay.RoundConfig{Goal: 2, MinReports: 1, OverSelect: 1, Deadline: 20 * time.Second}})
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	m, _, err := h.dial(ctx, secret.Issue("mallory"))
	if err != nil {
		t.Fatal(err)
	}
	m.hello(ctx, "mallory")
	good := h.client("good", nil)
	task := expect[*wire.Task](ctx, m)

	errCode := func(want wire.Code) *wire.Error {
		t.Helper()
		e := expect[*wire.Error](ctx, m)
		if e.Code != want {
			t.Fatalf("error %v (%s), want %v", e.Code, e.Message, want)
		}
		return e
	}
	bad := relay.EncodeFloat32(fill(dim, float32(math.NaN())))
	crc := crc32.Checksum(bad, castagnoli)
	id := task.UploadID

	m.send(ctx, &wire.UploadBegin{Round: task.Round + 7, UploadID: id, Size: uint64(len(bad)), CRC: crc})
	errCode(wire.CodeWrongRound)
	m.send(ctx, &wire.UploadBegin{Round: task.Round, UploadID: wire.ID16{9}, Size: uint64(len(bad)), CRC: crc})
	errCode(wire.CodeUnknownUpload)
	m.send(ctx, &wire.UploadBegin{Round: task.Round, UploadID: id, Size: 1 << 40, CRC: crc})
	errCode(wire.CodeUpdateTooBig)
	m.send(ctx, &wire.UploadBegin{Round: task.Round, UploadID: id, Size: uint64(len(bad)), CRC: crc})
	if a := expect[*wire.UploadAck](ctx, m); a.Offset != 0 {
		t.Fatalf("ack %+v", a)
	}
	half := bad[:len(bad)/2]
	m.send(ctx, &wire.UploadChunk{UploadID: id, Offset: 0, CRC: crc32.Checksum(half, castagnoli) ^ 1, Data: half})
	errCode(wire.CodeBadChecksum)
	m.send(ctx, &wire.UploadChunk{UploadID: id, Offset: 0, CRC: crc32.Checksum(half, castagnoli), Data: half})
	if a := expect[*wire.UploadAck](ctx, m); a.Offset != uint64(len(half)) {
		t.Fatalf("ack %+v", a)
	}
	// replay of the same chunk: stale offset, with the durable offset
	m.send(ctx, &wire.UploadChunk{UploadID: id, Offset: 0, CRC: crc32.Checksum(half, castagnoli), Data: half})
	if e := errCode(wire.CodeStaleOffset); e.Offset != uint64(len(half)) {
		t.Fatalf("stale offset error carries %d", e.Offset)
	}
	m.send(ctx, &wire.Stage{Round: task.Round, Stage: 1})
	errCode(wire.CodeBadStage)
	rest := bad[len(half):]
	m.send(ctx, &wire.UploadChunk{UploadID: id, Offset: uint64(len(half)), CRC: crc32.Checksum(rest, castagnoli), Data: rest})
	errCode(wire.CodeBadUpdate) // NaN
	m.send(ctx, &wire.UploadBegin{Round: task.Round, UploadID: id, Size: uint64(len(bad)), CRC: crc})
	errCode(wire.CodeBadUpdate) // stays rejected

	gt, err := good.NextTask(ctx, 0)
	if err != nil {
		t.Fatal(err)
	}
	if err := good.Upload(ctx, gt, 10, relay.EncodeFloat32(fill(dim, 0.5))); err != nil {
		t.Fatal(err)
	}
	// a duplicate declaration with different content is refused
	err = good.Upload(ctx, gt, 10, relay.EncodeFloat32(fill(dim, 0.25)))
	var we *wire.Error
	if !errors.As(err, &we) || we.Code != wire.CodeDuplicate {
		t.Fatalf("duplicate upload: %v", err)
	}
	// the same bytes again are simply acknowledged (idempotent), not counted twice
	if err := good.Upload(ctx, gt, 10, relay.EncodeFloat32(fill(dim, 0.5))); err != nil {
		t.Fatalf("idempotent re-upload: %v", err)
	}
	ev := h.event(30 * time.Second)
	if !ev.Committed || ev.Reported != 1 || ev.Rejected != 1 {
		t.Fatalf("event %+v", ev)
	}
	if p := h.r.Model().Params; p[3] != 0.5 {
		t.Fatalf("model %v, want the healthy update only", p[3])
	}
}
