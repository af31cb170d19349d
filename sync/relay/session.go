package relay

import (
	"context"
	"errors"
	"hash/crc32"
	"net/http"
	"strings"
	"sync"
	"time"

	"github.com/coder/websocket"

	"github.com/murmur-fl/murmur/sync/wire"
)

// Subprotocol is the WebSocket subprotocol of this protocol version.
// Browsers cannot set an Authorization header on a WebSocket, so a client
// may instead offer the token as a second subprotocol TokenProtocolPrefix+token.
const (
	Subprotocol         = "murmur.v1"
	TokenProtocolPrefix = "murmur.bearer."
)

var castagnoli = crc32.MakeTable(crc32.Castagnoli)

// conn is one live WebSocket connection of a device.
type conn struct {
	r       *Relay
	ws      *websocket.Conn
	dev     *device
	ctx     context.Context
	cancel  context.CancelFunc
	fetchMu sync.Mutex
	fetch   context.CancelFunc
	once    sync.Once
}

func bearer(req *http.Request) string {
	if h := req.Header.Get("Authorization"); len(h) > 7 && strings.EqualFold(h[:7], "bearer ") {
		return strings.TrimSpace(h[7:])
	}
	for _, v := range req.Header.Values("Sec-WebSocket-Protocol") {
		for p := range strings.SplitSeq(v, ",") {
			if p = strings.TrimSpace(p); strings.HasPrefix(p, TokenProtocolPrefix) {
				return p[len(TokenProtocolPrefix):]
			}
		}
	}
	return ""
}

func (r *Relay) reject(code wire.Code) { r.m.rejections.WithLabelValues(code.String()).Inc() }

func (r *Relay) serveWS(w http.ResponseWriter, req *http.Request) {
	token := bearer(req)
	devID, err := r.cfg.Auth.Authenticate(token)
	if err != nil || token == "" {
		r.reject(wire.CodeUnauthorized)
		r.log.Info("rejected connection", "code", wire.CodeUnauthorized, "remote", req.RemoteAddr)
		http.Error(w, "unauthorized: missing or unknown bearer token", http.StatusUnauthorized)
		return
	}
	r.mu.Lock()
	if r.closing {
		r.mu.Unlock()
		http.Error(w, "relay shutting down", http.StatusServiceUnavailable)
		return
	}
	r.handlers.Add(1)
	r.mu.Unlock()
	defer r.handlers.Done()
	ws, err := websocket.Accept(w, req, &websocket.AcceptOptions{
		Subprotocols:   []string{Subprotocol},
		OriginPatterns: r.cfg.OriginPatterns,
	})
	if err != nil {
		r.log.Info("rejected handshake", "err", err, "remote", req.RemoteAddr)
		return
	}
	ws.SetReadLimit(int64(r.cfg.MaxFrame) + 16)
	ctx, cancel := context.WithCancel(r.ctx)
	c := &conn{r: r, ws: ws, ctx: ctx, cancel: cancel}
	defer cancel()
	r.mu.Lock()
	r.conns[c] = struct{}{}
	full := r.live >= r.cfg.MaxSessions
	if !full {
		r.live++
		r.m.sessions.Inc()
	}
	r.mu.Unlock()
	defer func() {
		r.mu.Lock()
		delete(r.conns, c)
		r.mu.Unlock()
	}()
	if full {
		r.reject(wire.CodeBusy)
		c.fail(&wire.Error{Code: wire.CodeBusy, Message: "relay at its session limit"}, r.retryWindow())
		return
	}
	defer func() {
		r.mu.Lock()
		r.live--
		r.m.sessions.Dec()
		r.mu.Unlock()
	}()
	c.run(devID)
}

// retryWindow spreads reconnects: the fuller the relay, the wider the window.
func (r *Relay) retryWindow() *wire.RetryLater {
	r.mu.Lock()
	load := float64(r.live) / float64(r.cfg.MaxSessions)
	r.mu.Unlock()
	spread := uint32(float64(r.cfg.RetrySpread/time.Millisecond) * min(max(load, 0.05), 1))
	return &wire.RetryLater{MinMs: 1000, MaxMs: 1000 + spread, Reason: "busy"}
}

// send writes one message; it is safe for concurrent use.
func (c *conn) send(m wire.Message) error {
	b, err := wire.Encode(m, false)
	if err != nil {
		return err
	}
	ctx, cancel := context.WithTimeout(c.ctx, 30*time.Second)
	defer cancel()
	if err := c.ws.Write(ctx, websocket.MessageBinary, b); err != nil {
		return err
	}
	c.r.downTotal.Add(int64(len(b)))
	c.r.m.bytes.WithLabelValues("down").Add(float64(len(b)))
	return nil
}

// fail sends e (and an optional RetryLater) and closes with e's close code.
func (c *conn) fail(e *wire.Error, retry *wire.RetryLater) {
	c.once.Do(func() {
		if retry != nil {
			c.send(retry)
		}
		c.send(e)
		c.ws.Close(websocket.StatusCode(e.Code.CloseStatus()), e.Code.String())
		c.cancel()
	})
}

// fatal logs and counts a connection-ending rejection.
func (c *conn) fatal(code wire.Code, msg string) {
	c.r.reject(code)
	dev := ""
	if c.dev != nil {
		dev = c.dev.id
	}
	c.r.log.Info("closing connection", "code", code, "device", dev, "reason", msg)
	c.fail(&wire.Error{Code: code, Message: msg}, nil)
}

// reply sends a request-level error.
func (c *conn) reply(code wire.Code, ref wire.ID16, off uint64, msg string) {
	c.r.reject(code)
	c.r.log.Debug("request rejected", "code", code, "device", c.dev.id, "reason", msg)
	c.send(&wire.Error{Code: code, Ref: ref, Offset: off, Message: msg})
}

func (c *conn) read(ctx context.Context) (wire.Message, bool) {
	typ, b, err := c.ws.Read(ctx)
	if err != nil {
		if websocket.CloseStatus(err) == websocket.StatusMessageTooBig || strings.Contains(err.Error(), "read limited") {
			c.r.reject(wire.CodeTooLarge)
			c.r.log.Info("closing connection", "code", wire.CodeTooLarge, "reason", "frame over the read limit")
		}
		return nil, false
	}
	c.r.upTotal.Add(int64(len(b)))
	c.r.m.bytes.WithLabelValues("up").Add(float64(len(b)))
	if typ != websocket.MessageBinary {
		c.fatal(wire.CodeBadFrame, "text message; the protocol is binary")
		return nil, false
	}
	if c.dev != nil && !c.dev.limiter.Allow() {
		c.fatal(wire.CodeRateLimited, "too many messages")
		return nil, false
	}
	m, err := wire.Decode(b, c.r.cfg.MaxFrame)
	if err != nil {
		code := wire.CodeBadFrame
		if errors.Is(err, wire.ErrTooLarge) {
			code = wire.CodeTooLarge
		}
		c.fatal(code, err.Error())
		return nil, false
	}
	return m, true
}

func (c *conn) run(tokenDevice string) {
	r := c.r
	helloCtx, cancel := context.WithTimeout(c.ctx, r.cfg.HelloTimeout)
	m, ok := c.read(helloCtx)
	cancel()
	if !ok {
		return
	}
	h, isHello := m.(*wire.Hello)
	if !isHello {
		c.fatal(wire.CodeProtocol, "first message must be Hello, got "+m.Type().String())
		return
	}
	if h.Protocol != wire.Protocol {
		c.fatal(wire.CodeBadVersion, "unsupported protocol version")
		return
	}
	if h.DeviceID != tokenDevice {
		c.fatal(wire.CodeForbidden, "device id "+h.DeviceID+" does not match the token")
		return
	}
	if !r.attach(c, h) {
		return
	}
	defer r.detach(c)
	for {
		m, ok := c.read(c.ctx)
		if !ok {
			return
		}
		if !r.handle(c, m) {
			return
		}
	}
}

// attach binds the connection to its device, resuming the session when the
// resume token matches, and sends Welcome, queued messages and the task.
func (r *Relay) attach(c *conn, h *wire.Hello) bool {
	now := time.Now()
	r.mu.Lock()
	d := r.devices[h.DeviceID]
	if d == nil {
		d = &device{id: h.DeviceID, limiter: newLimiter(r.cfg)}
		r.devices[h.DeviceID] = d
	}
	resumed := false
	if !h.SessionID.IsZero() && h.SessionID == d.sessionID && (d.conn != nil || now.Sub(d.lastSeen) <= r.cfg.Grace) {
		if h.ResumeToken != d.resumeToken {
			r.mu.Unlock()
			c.dev = d
			c.fatal(wire.CodeBadResume, "resume token does not match the session")
			return false
		}
		resumed = true
	}
	if !resumed {
		d.sessionID, d.resumeToken = newID(), newID()
	}
	old := d.conn
	d.conn, d.caps, c.dev = c, h.Caps, d
	d.have.Store(h.HaveModel)
	queue := d.queue
	d.queue = nil
	rd := r.round
	welcome := &wire.Welcome{SessionID: d.sessionID, ResumeToken: d.resumeToken, Resumed: resumed,
		GraceMs: uint32(r.cfg.Grace / time.Millisecond), ServerMs: now.UnixMilli()}
	if rd != nil {
		welcome.Round = rd.state.Number
	}
	r.mu.Unlock()
	if old != nil {
		go old.fail(&wire.Error{Code: wire.CodeReplaced, Message: "a newer connection took over"}, nil)
	}
	kind := "new"
	if resumed {
		kind = "resumed"
	}
	r.m.connects.WithLabelValues(kind).Inc()
	r.log.Debug("device connected", "device", d.id, "kind", kind)
	if c.send(welcome) != nil {
		return false
	}
	for _, q := range queue {
		if rd != nil && q.round == rd.state.Number {
			c.send(q.msg)
		} else if _, end := q.msg.(*wire.RoundEnd); end {
			c.send(q.msg)
		}
	}
	if rd != nil {
		t := rd.rejoin(d)
		if t != nil {
			c.send(t)
		}
		rd.resendStage(c, d)
		if t != nil {
			return true
		}
	}
	select {
	case r.kick <- struct{}{}:
	default:
	}
	return true
}

func (r *Relay) detach(c *conn) {
	c.stopFetch()
	r.mu.Lock()
	if d := c.dev; d != nil && d.conn == c {
		d.conn = nil
		d.lastSeen = time.Now()
	}
	r.mu.Unlock()
}

// deliver sends m to device d now, or queues it until it reconnects.
func (r *Relay) deliver(d *device, round uint64, m wire.Message) {
	r.mu.Lock()
	c := d.conn
	if c == nil {
		if len(d.queue) < maxQueue {
			d.queue = append(d.queue, queued{round, m})
		}
		r.mu.Unlock()
		return
	}
	r.mu.Unlock()
	if c.send(m) != nil {
		r.mu.Lock()
		if len(d.queue) < maxQueue {
			d.queue = append(d.queue, queued{round, m})
		}
		r.mu.Unlock()
	}
}

// handle processes one message after Hello; false ends the connection.
func (r *Relay) handle(c *conn, m wire.Message) bool {
	switch m := m.(type) {
	case *wire.Fetch:
		r.startFetch(c, m)
	case *wire.UploadBegin:
		r.withRound(c, m.Round, m.UploadID, m, func(rd *round) { rd.begin(c, m) })
	case *wire.UploadChunk:
		r.withRound(c, 0, m.UploadID, m, func(rd *round) { rd.chunk(c, m) })
	case *wire.Stage:
		r.withRound(c, m.Round, wire.ID16{}, m, func(rd *round) { rd.stageMsg(c, m) })
	case *wire.Bye:
		r.mu.Lock()
		c.dev.sessionID = wire.ID16{} // no resume after a goodbye
		r.mu.Unlock()
		c.ws.Close(websocket.StatusNormalClosure, "bye")
		return false
	default:
		c.fatal(wire.CodeProtocol, m.Type().String()+" is not a device message")
		return false
	}
	return true
}

// withRound runs f on the open round if the message is for it (round 0:
// any round, for messages that carry only an upload id).
func (r *Relay) withRound(c *conn, n uint64, ref wire.ID16, m wire.Message, f func(*round)) {
	r.mu.Lock()
	rd := r.round
	rec, counted := r.recent[ref]
	r.mu.Unlock()
	if rd == nil || (n != 0 && n != rd.state.Number) {
		if b, ok := m.(*wire.UploadBegin); ok && counted && (b.Size != rec.size || b.CRC != rec.crc) {
			c.reply(wire.CodeDuplicate, ref, rec.size, "an update for this round is already counted")
			return
		}
		if counted && !ref.IsZero() {
			// Counted in a round that has ended; the ack was lost in a cut.
			c.send(&wire.UploadAck{UploadID: ref, Done: true})
			return
		}
		c.reply(wire.CodeWrongRound, ref, 0, "no such open round")
		return
	}
	f(rd)
}

func (c *conn) stopFetch() {
	c.fetchMu.Lock()
	if c.fetch != nil {
		c.fetch()
	}
	c.fetchMu.Unlock()
}

// startFetch streams a blob from an offset in chunks, each with its
// CRC-32C; a new Fetch replaces the running one.
func (r *Relay) startFetch(c *conn, f *wire.Fetch) {
	b, err := r.blob(f.Hash)
	if err != nil {
		c.reply(wire.CodeUnknownModel, wire.ID16{}, 0, "no blob "+f.Hash.String())
		return
	}
	if f.Offset > uint64(len(b)) {
		c.reply(wire.CodeStaleOffset, wire.ID16{}, uint64(len(b)), "fetch offset past the end")
		return
	}
	c.stopFetch()
	ctx, cancel := context.WithCancel(c.ctx)
	c.fetchMu.Lock()
	c.fetch = cancel
	c.fetchMu.Unlock()
	go func() {
		defer cancel()
		off := f.Offset
		for {
			end := min(off+uint64(r.cfg.ChunkSize), uint64(len(b)))
			data := b[off:end]
			if ctx.Err() != nil {
				return
			}
			ch := &wire.Chunk{Hash: f.Hash, Offset: off, Total: uint64(len(b)), CRC: crc32.Checksum(data, castagnoli), Data: data}
			if c.send(ch) != nil {
				return
			}
			off = end
			if off >= uint64(len(b)) {
				if v := r.modelVersionOf(f.Hash); v != 0 {
					c.dev.have.Store(v)
				}
				return
			}
		}
	}()
}
