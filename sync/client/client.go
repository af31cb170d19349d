// Package client is the device side of the murmur sync protocol: a
// WebSocket client that keeps a session with the relay, reconnects on its
// own (exponential backoff with full jitter, honouring the relay's retry
// windows), resumes its session, downloads and uploads from the last
// acknowledged byte, and keeps that progress in a Storage so it survives
// application restarts. The same API builds for browsers (GOOS=js).
package client

import (
	"context"
	"crypto/sha256"
	"encoding/binary"
	"encoding/json"
	"errors"
	"fmt"
	"hash/crc32"
	"log/slog"
	"net/http"
	"sync"
	"time"

	"github.com/coder/websocket"

	"github.com/murmur-fl/murmur/sync/wire"
)

// Config configures a Client. Zero fields take the documented defaults.
type Config struct {
	// URL is the relay's WebSocket endpoint, e.g. "ws://host:8080/ws". Required.
	URL string
	// Token is the device's bearer token. Required.
	Token string
	// DeviceID must be the id the token was issued for. Required.
	DeviceID string
	// Caps are reported in Hello.
	Caps wire.Capabilities
	// State keeps the session, partial downloads and pending uploads.
	// Default: MemStorage (nothing survives a restart).
	State Storage
	// MinBackoff and MaxBackoff bound reconnect waits. Default 100ms and 30s.
	MinBackoff, MaxBackoff time.Duration
	// ChunkSize is the upload chunk size. Default 256 KiB.
	ChunkSize int
	// MaxFrame bounds one received frame. Default wire.DefaultMaxFrame.
	MaxFrame int
	// OnProgress, if set, is called as transfers advance (from the
	// goroutine running the transfer).
	OnProgress func(Progress)
	// HTTPClient is used for the handshake (native only). Default http.DefaultClient.
	HTTPClient *http.Client
	// Logger receives structured logs. Default: slog.Default().
	Logger *slog.Logger
}

// Progress reports one step of a transfer.
type Progress struct {
	Stage string // "download", "upload"
	Round uint64
	Done  int64 // bytes acknowledged (upload) or verified (download)
	Total int64
}

// Stats counts what the client did; tests and the simulator read it.
type Stats struct {
	Connects     int   // successful handshakes
	Resumed      int   // handshakes that resumed the previous session
	Cuts         int   // links lost
	BytesSent    int64 // upload chunk payload bytes sent (including resends)
	BytesFetched int64 // download chunk payload bytes received
}

// Errors.
var (
	// ErrClosed is returned by operations after Close.
	ErrClosed = errors.New("client: closed")
	// errLink means the link dropped; operations retry on the next one.
	errLink = errors.New("client: link lost")
)

// RelayError is a request-level or fatal error from the relay.
type RelayError = wire.Error

// Client is one device's connection to a relay. Its methods are safe for
// concurrent use, but one transfer of each kind at a time is expected.
type Client struct {
	cfg Config
	log *slog.Logger

	mu      sync.Mutex
	cur     *link
	linkUp  chan struct{} // closed when cur becomes non-nil or the client stops
	stopErr error         // permanent failure or ErrClosed
	inbox   []wire.Message
	notify  chan struct{} // closed and replaced when inbox changes
	stats   Stats
	session session
	have    uint64 // model version the device holds (Hello.HaveModel)

	ctx    context.Context
	cancel context.CancelFunc
	done   chan struct{}
}

type session struct {
	SessionID   wire.ID16 `json:"session_id"`
	ResumeToken wire.ID16 `json:"resume_token"`
}

type link struct {
	ws   *websocket.Conn
	done chan struct{}
	err  error // why the link ended (set before done is closed)
}

// New creates a client and starts connecting in the background.
func New(cfg Config) (*Client, error) {
	if cfg.URL == "" || cfg.Token == "" || cfg.DeviceID == "" {
		return nil, errors.New("client: Config.URL, Token and DeviceID are required")
	}
	if cfg.State == nil {
		cfg.State = MemStorage()
	}
	if cfg.MinBackoff <= 0 {
		cfg.MinBackoff = 100 * time.Millisecond
	}
	if cfg.MaxBackoff <= 0 {
		cfg.MaxBackoff = 30 * time.Second
	}
	if cfg.ChunkSize <= 0 {
		cfg.ChunkSize = 256 << 10
	}
	if cfg.MaxFrame <= 0 {
		cfg.MaxFrame = wire.DefaultMaxFrame
	}
	cfg.ChunkSize = min(cfg.ChunkSize, cfg.MaxFrame-1024)
	if cfg.Logger == nil {
		cfg.Logger = slog.Default()
	}
	c := &Client{cfg: cfg, log: cfg.Logger.With("component", "client", "device", cfg.DeviceID),
		linkUp: make(chan struct{}), notify: make(chan struct{}), done: make(chan struct{})}
	if b, err := cfg.State.Get("session"); err == nil {
		json.Unmarshal(b, &c.session)
	}
	if b, err := cfg.State.Get(haveKey); err == nil && len(b) == 8 {
		c.have = binary.LittleEndian.Uint64(b)
	}
	c.ctx, c.cancel = context.WithCancel(context.Background())
	go c.supervise()
	return c, nil
}

// haveKey is where State keeps the model version the device holds.
const haveKey = "have-model"

// SetHaveModel records the model version the device holds (0: none). It is
// kept in State, so it survives an application restart, and sent in every
// Hello: the relay then offers a delta against it instead of a full model
// (wire.Task.BaseVersion). Call it once the model is verified and saved.
func (c *Client) SetHaveModel(version uint64) error {
	c.mu.Lock()
	c.have = version
	c.mu.Unlock()
	return c.cfg.State.Put(haveKey, binary.LittleEndian.AppendUint64(nil, version))
}

// HaveModel returns the model version last recorded by SetHaveModel.
func (c *Client) HaveModel() uint64 {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.have
}

// Stats returns a snapshot of the counters.
func (c *Client) Stats() Stats {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.stats
}

// Close says goodbye to the relay (ending the session without a grace
// period) and stops the client. Pending transfers stay in State.
func (c *Client) Close() error {
	c.mu.Lock()
	l := c.cur
	c.mu.Unlock()
	if l != nil {
		if b, err := wire.Encode(&wire.Bye{}, false); err == nil {
			ctx, cancel := context.WithTimeout(context.Background(), time.Second)
			l.ws.Write(ctx, websocket.MessageBinary, b)
			cancel()
		}
	}
	c.stop(ErrClosed)
	<-c.done
	return nil
}

// Abort drops the link and stops the client without a goodbye, as a
// crash would (the relay keeps the session for its grace period).
func (c *Client) Abort() {
	c.stop(ErrClosed)
	<-c.done
}

func (c *Client) stop(err error) {
	c.mu.Lock()
	if c.stopErr == nil {
		c.stopErr = err
		c.wake()
		select {
		case <-c.linkUp:
		default:
			close(c.linkUp)
		}
	}
	l := c.cur
	c.mu.Unlock()
	c.cancel()
	if l != nil {
		closeNow(l.ws)
	}
}

// Drop cuts the current link (for tests and for callers that know the
// network changed); the client reconnects and resumes.
func (c *Client) Drop() {
	c.mu.Lock()
	l := c.cur
	c.mu.Unlock()
	if l != nil {
		closeNow(l.ws)
	}
}

// wake tells waiters the inbox or link changed. Callers hold c.mu.
func (c *Client) wake() {
	close(c.notify)
	c.notify = make(chan struct{})
}

// supervise keeps a link up until the client stops.
func (c *Client) supervise() {
	defer close(c.done)
	bo := backoff{base: c.cfg.MinBackoff, max: c.cfg.MaxBackoff}
	var wait time.Duration
	for {
		if wait > 0 {
			t := time.NewTimer(wait)
			select {
			case <-t.C:
			case <-c.ctx.Done():
				t.Stop()
				return
			}
		}
		if c.ctx.Err() != nil {
			return
		}
		l, retry, err := c.connect()
		if err != nil {
			var re *wire.Error
			if errors.As(err, &re) && permanent(re.Code) {
				c.log.Error("relay refused the device; giving up", "err", err)
				c.stop(err)
				return
			}
			if retry != nil {
				wait = window(retry.MinMs, retry.MaxMs)
			} else {
				wait = bo.next()
			}
			c.log.Debug("connect failed", "err", err, "retry_in", wait)
			continue
		}
		bo.reset()
		c.mu.Lock()
		c.cur = l
		select {
		case <-c.linkUp:
		default:
			close(c.linkUp)
		}
		c.wake()
		c.mu.Unlock()
		retry = c.readLoop(l)
		c.mu.Lock()
		c.cur = nil
		c.stats.Cuts++
		if c.stopErr == nil {
			c.linkUp = make(chan struct{})
		}
		// Replies to requests on the old link are meaningless now.
		kept := c.inbox[:0]
		for _, m := range c.inbox {
			switch m.(type) {
			case *wire.UploadAck, *wire.Chunk, *wire.Error:
			default:
				kept = append(kept, m)
			}
		}
		c.inbox = kept
		c.wake()
		c.mu.Unlock()
		if retry != nil {
			wait = window(retry.MinMs, retry.MaxMs)
		} else {
			wait = bo.next()
		}
	}
}

func permanent(code wire.Code) bool {
	switch code {
	case wire.CodeUnauthorized, wire.CodeForbidden, wire.CodeBadVersion:
		return true
	}
	return false
}

// connect dials, says Hello and waits for Welcome.
func (c *Client) connect() (*link, *wire.RetryLater, error) {
	ctx, cancel := context.WithTimeout(c.ctx, 15*time.Second)
	defer cancel()
	ws, resp, err := websocket.Dial(ctx, c.cfg.URL, dialOptions(&c.cfg))
	if err != nil {
		if resp != nil && resp.StatusCode == http.StatusUnauthorized {
			return nil, nil, &wire.Error{Code: wire.CodeUnauthorized, Message: "relay rejected the token (HTTP 401)"}
		}
		return nil, nil, err
	}
	ws.SetReadLimit(int64(c.cfg.MaxFrame) + 16)
	c.mu.Lock()
	s, have := c.session, c.have
	c.mu.Unlock()
	hello := &wire.Hello{Protocol: wire.Protocol, DeviceID: c.cfg.DeviceID, SessionID: s.SessionID,
		ResumeToken: s.ResumeToken, Caps: c.cfg.Caps, HaveModel: have}
	if err := write(ctx, ws, hello); err != nil {
		closeNow(ws)
		return nil, nil, err
	}
	var retry *wire.RetryLater
	for {
		m, err := readMsg(ctx, ws, c.cfg.MaxFrame)
		if err != nil {
			closeNow(ws)
			return nil, retry, err
		}
		switch m := m.(type) {
		case *wire.Welcome:
			c.mu.Lock()
			c.session = session{m.SessionID, m.ResumeToken}
			c.stats.Connects++
			if m.Resumed {
				c.stats.Resumed++
			}
			c.mu.Unlock()
			b, _ := json.Marshal(session{m.SessionID, m.ResumeToken})
			c.cfg.State.Put("session", b)
			return &link{ws: ws, done: make(chan struct{})}, nil, nil
		case *wire.RetryLater:
			retry = m
		case *wire.Error:
			closeNow(ws)
			if m.Code == wire.CodeBadResume {
				// Our saved session is not ours any more: start afresh.
				c.mu.Lock()
				c.session = session{}
				c.mu.Unlock()
				c.cfg.State.Delete("session")
			}
			return nil, retry, m
		default:
			closeNow(ws)
			return nil, nil, fmt.Errorf("client: relay sent %v before Welcome", m.Type())
		}
	}
}

func write(ctx context.Context, ws *websocket.Conn, m wire.Message) error {
	b, err := wire.Encode(m, false)
	if err != nil {
		return err
	}
	return ws.Write(ctx, websocket.MessageBinary, b)
}

func readMsg(ctx context.Context, ws *websocket.Conn, max int) (wire.Message, error) {
	typ, b, err := ws.Read(ctx)
	if err != nil {
		return nil, err
	}
	if typ != websocket.MessageBinary {
		return nil, errors.New("client: relay sent a text message")
	}
	return wire.Decode(b, max)
}

// readLoop moves messages into the inbox until the link ends; it returns
// the relay's retry window if it sent one.
func (c *Client) readLoop(l *link) (retry *wire.RetryLater) {
	defer close(l.done)
	for {
		m, err := readMsg(c.ctx, l.ws, c.cfg.MaxFrame)
		if err != nil {
			l.err = err
			closeNow(l.ws)
			if code := wire.CodeFromClose(int(websocket.CloseStatus(err))); permanent(code) {
				c.stop(&wire.Error{Code: code, Message: "relay closed the session"})
			}
			return retry
		}
		switch m := m.(type) {
		case *wire.RetryLater:
			retry = m
			continue
		case *wire.Error:
			if m.Code.Fatal() {
				c.log.Info("relay closing the link", "code", m.Code, "msg", m.Message)
				if permanent(m.Code) {
					c.stop(m)
				}
				continue
			}
		case *wire.Chunk:
			c.mu.Lock()
			c.stats.BytesFetched += int64(len(m.Data))
			c.mu.Unlock()
		}
		c.mu.Lock()
		if len(c.inbox) >= maxInbox {
			// Nobody is consuming (a relay flooding us, or a caller not
			// reading stage messages): drop the oldest, never grow unbounded.
			c.log.Warn("client inbox full; dropping the oldest message", "type", c.inbox[0].Type())
			c.inbox = append(c.inbox[:0], c.inbox[1:]...)
		}
		c.inbox = append(c.inbox, m)
		c.wake()
		c.mu.Unlock()
	}
}

// maxInbox bounds messages waiting for a caller (a download in flight holds
// at most blob size / chunk size chunks).
const maxInbox = 8192

// link waits for a live link.
func (c *Client) link(ctx context.Context) (*link, error) {
	for {
		c.mu.Lock()
		l, up, stopErr := c.cur, c.linkUp, c.stopErr
		c.mu.Unlock()
		if stopErr != nil {
			return nil, stopErr
		}
		if l != nil {
			return l, nil
		}
		select {
		case <-up:
		case <-ctx.Done():
			return nil, ctx.Err()
		}
	}
}

func (c *Client) send(ctx context.Context, l *link, m wire.Message) error {
	if err := ctx.Err(); err != nil {
		return err // a caller that gave up (or crashed) sends nothing more
	}
	if err := write(ctx, l.ws, m); err != nil {
		if ctx.Err() != nil {
			return ctx.Err()
		}
		return errLink
	}
	return nil
}

// await removes and returns the first inbox message match accepts. It
// returns errLink if l ends first (l nil: wait across links).
func (c *Client) await(ctx context.Context, l *link, match func(wire.Message) bool) (wire.Message, error) {
	for {
		c.mu.Lock()
		for i, m := range c.inbox {
			if match(m) {
				c.inbox = append(c.inbox[:i], c.inbox[i+1:]...)
				c.mu.Unlock()
				return m, nil
			}
		}
		n, stopErr := c.notify, c.stopErr
		c.mu.Unlock()
		if stopErr != nil {
			return nil, stopErr
		}
		var ldone chan struct{}
		if l != nil {
			ldone = l.done
		}
		select {
		case <-n:
		case <-ldone:
			return nil, errLink
		case <-ctx.Done():
			return nil, ctx.Err()
		}
	}
}

// retrying runs op on live links until it succeeds or fails for a reason
// other than a lost link.
func (c *Client) retrying(ctx context.Context, op func(*link) error) error {
	for {
		l, err := c.link(ctx)
		if err != nil {
			return err
		}
		err = op(l)
		if !errors.Is(err, errLink) {
			return err
		}
		// Wait for this link to be gone before asking for the next one.
		select {
		case <-l.done:
		case <-ctx.Done():
			return ctx.Err()
		}
	}
}

// NextTask waits for a Task for a round after the given one (pass the
// last round finished; a device restarted mid-round passes the round
// before it and gets the same task again).
func (c *Client) NextTask(ctx context.Context, after uint64) (*wire.Task, error) {
	m, err := c.await(ctx, nil, func(m wire.Message) bool {
		t, ok := m.(*wire.Task)
		return ok && t.Round > after
	})
	if err != nil {
		return nil, err
	}
	// Drop stale duplicates of tasks re-sent on reconnects.
	t := m.(*wire.Task)
	c.mu.Lock()
	kept := c.inbox[:0]
	for _, x := range c.inbox {
		if o, ok := x.(*wire.Task); ok && o.Round <= t.Round {
			continue
		}
		kept = append(kept, x)
	}
	c.inbox = kept
	c.mu.Unlock()
	return t, nil
}

// WaitRoundEnd waits for the relay's verdict on a round.
func (c *Client) WaitRoundEnd(ctx context.Context, round uint64) (*wire.RoundEnd, error) {
	m, err := c.await(ctx, nil, func(m wire.Message) bool {
		e, ok := m.(*wire.RoundEnd)
		return ok && e.Round == round
	})
	if err != nil {
		return nil, err
	}
	return m.(*wire.RoundEnd), nil
}

// SendStage sends a secure-aggregation stage message (resent on a new
// link if the first one dropped; stage messages are idempotent).
func (c *Client) SendStage(ctx context.Context, round uint64, stage uint8, peer uint32, payload []byte) error {
	return c.retrying(ctx, func(l *link) error {
		return c.send(ctx, l, &wire.Stage{Round: round, Stage: stage, Peer: peer, Payload: payload})
	})
}

// RecvStage waits for the next stage message of the given round and stage.
// The relay sends one per stage, and again when the device reconnects (the
// first copy may have died with the link): copies are dropped.
func (c *Client) RecvStage(ctx context.Context, round uint64, stage uint8) (*wire.Stage, error) {
	match := func(m wire.Message) bool {
		s, ok := m.(*wire.Stage)
		return ok && s.Round == round && s.Stage == stage
	}
	m, err := c.await(ctx, nil, match)
	if err != nil {
		return nil, err
	}
	c.mu.Lock()
	kept := c.inbox[:0]
	for _, x := range c.inbox {
		if !match(x) {
			kept = append(kept, x)
		}
	}
	c.inbox = kept
	c.mu.Unlock()
	return m.(*wire.Stage), nil
}

var castagnoli = crc32.MakeTable(crc32.Castagnoli)

func (c *Client) progress(p Progress) {
	if c.cfg.OnProgress != nil {
		c.cfg.OnProgress(p)
	}
}

// Download fetches the blob with the given hash, resuming from what State
// already holds, and verifies its SHA-256.
func (c *Client) Download(ctx context.Context, h wire.Hash) ([]byte, error) {
	key := "dl-" + h.String()
	have, err := c.cfg.State.Get(key)
	if err != nil && !errors.Is(err, ErrNotExist) {
		return nil, err
	}
	var total uint64
	err = c.retrying(ctx, func(l *link) error {
		if err := c.send(ctx, l, &wire.Fetch{Hash: h, Offset: uint64(len(have))}); err != nil {
			return err
		}
		for {
			m, err := c.await(ctx, l, func(m wire.Message) bool {
				switch m := m.(type) {
				case *wire.Chunk:
					return m.Hash == h
				case *wire.Error:
					return m.Code == wire.CodeUnknownModel || m.Code == wire.CodeStaleOffset
				}
				return false
			})
			if err != nil {
				return err
			}
			switch m := m.(type) {
			case *wire.Error:
				if m.Code == wire.CodeStaleOffset { // our partial copy is longer than the blob
					have = nil
					c.cfg.State.Delete(key)
					return c.send(ctx, l, &wire.Fetch{Hash: h})
				}
				return m
			case *wire.Chunk:
				if m.Offset != uint64(len(have)) {
					continue // from an earlier Fetch on this link
				}
				if crc32.Checksum(m.Data, castagnoli) != m.CRC {
					if err := c.send(ctx, l, &wire.Fetch{Hash: h, Offset: uint64(len(have))}); err != nil {
						return err
					}
					continue
				}
				have = append(have, m.Data...)
				c.cfg.State.Append(key, m.Data)
				total = m.Total
				c.progress(Progress{Stage: "download", Done: int64(len(have)), Total: int64(total)})
				if uint64(len(have)) == total {
					return nil
				}
			}
		}
	})
	if err != nil {
		return nil, err
	}
	if sha256.Sum256(have) != h {
		c.cfg.State.Delete(key)
		return nil, fmt.Errorf("client: downloaded blob does not hash to %v", h)
	}
	c.cfg.State.Delete(key)
	return have, nil
}
