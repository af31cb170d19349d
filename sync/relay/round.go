package relay

import (
	"crypto/sha256"
	"errors"
	"fmt"
	"hash/crc32"
	"math"
	"sync"
	"time"

	"github.com/murmur-fl/murmur/sync/wire"
)

// round is the open round. Its mu guards participant state and the rule;
// the relay's mu guards which round is open.
type round struct {
	r       *Relay
	state   RoundState
	plan    Plan
	planB   []byte
	started time.Time
	dim     int

	mu        sync.Mutex
	parts     map[string]*part
	byIndex   map[uint32]*part
	rule      *Aggregator
	secure    StageServer
	stage     uint8                     // open secure stage (0: none)
	stageSeen map[uint32]bool           // who spoke in the open stage
	stageOut  map[uint32][]wire.Message // what opened the stage, per participant (re-sent on reconnect)
	expect    map[uint32]bool           // who is still in the protocol
	closed    bool
	reported  int
	rejected  int
	gone      int // participants whose sessions expired before they reported
	resumed   map[string]bool
	allIn     chan struct{} // closed once every participant reported
	stageIn   chan struct{} // signalled when a stage may be complete
}

type part struct {
	Participant
	dev      *device
	reported bool
	rejected bool
	gone     bool // its session expired (away past the grace period): not waited for
	seen     bool // connected at some point during the round
	size     uint64
	crc      uint32
}

// loop runs rounds until the relay shuts down.
func (r *Relay) loop() {
	defer close(r.loopDone)
	if err := r.recover(); err != nil {
		r.log.Error("recovering the open round failed; it was abandoned", "err", err)
	}
	for r.ctx.Err() == nil {
		r.mu.Lock()
		rd := r.round
		if rd == nil {
			if n := r.cfg.Round.Rounds; n > 0 && r.nextRoundNumber() > n {
				r.finished = true
				r.mu.Unlock()
				<-r.ctx.Done()
				return
			}
		}
		r.mu.Unlock()
		if rd == nil {
			var err error
			if rd, err = r.selectRound(); err != nil {
				if r.ctx.Err() == nil {
					r.log.Error("starting a round failed", "err", err)
					sleepCtx(r.ctx, time.Second)
				}
				continue
			}
		}
		r.collect(rd)
		sleepCtx(r.ctx, r.cfg.Round.Pause)
	}
}

func (r *Relay) nextRoundNumber() uint64 { return max(r.lastRound, r.model.Round) + 1 }

func sleepCtx(ctx interface{ Done() <-chan struct{} }, d time.Duration) {
	if d <= 0 {
		return
	}
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-t.C:
	case <-ctx.Done():
	}
}

// recover reopens a round found in the store: if its deadline has not
// passed and the model is unchanged it continues (completed uploads are
// counted again, exactly once, from the store); otherwise it is abandoned
// explicitly.
func (r *Relay) recover() error {
	rs, ok, err := r.store.LoadRound()
	if err != nil || !ok {
		return err
	}
	r.lastRound = rs.Number
	if rs.Closed {
		return nil
	}
	reason := ""
	switch {
	case rs.ModelVersion != r.model.Version:
		reason = "model changed"
	case time.Now().UnixMilli() >= rs.DeadlineMs:
		reason = "deadline passed while the relay was down"
	}
	rd, err := r.newRound(rs)
	if err == nil && reason == "" {
		err = rd.reload()
	}
	if err != nil || reason != "" {
		if reason == "" {
			reason = err.Error()
		}
		r.log.Warn("abandoning round after restart", "round", rs.Number, "reason", reason)
		r.finishEvent(rd, false, "abandoned after restart: "+reason)
		return errors.Join(err, r.store.AbandonRound(rs.Number))
	}
	r.log.Info("resuming round after restart", "round", rs.Number, "reported", rd.reported)
	r.mu.Lock()
	r.round = rd
	r.mu.Unlock()
	return nil
}

func (r *Relay) newRound(rs RoundState) (*round, error) {
	rd := &round{r: r, state: rs, planB: rs.Plan, parts: map[string]*part{}, byIndex: map[uint32]*part{},
		resumed: map[string]bool{}, allIn: make(chan struct{}), stageIn: make(chan struct{}, 1),
		started: time.UnixMilli(rs.StartedMs)}
	if err := jsonUnmarshal(rs.Plan, &rd.plan); err != nil {
		return rd, fmt.Errorf("round %d plan: %w", rs.Number, err)
	}
	r.mu.Lock()
	rd.dim = len(r.model.Params)
	for _, p := range rs.Participants {
		d := r.devices[p.Device]
		if d == nil {
			// A participant of a round recovered after a restart: it gets
			// the grace period, from now, to come back before it counts as
			// vanished.
			d = &device{id: p.Device, limiter: newLimiter(r.cfg), lastSeen: time.Now()}
			r.devices[p.Device] = d
		}
		pp := &part{Participant: p, dev: d}
		rd.parts[p.Device], rd.byIndex[p.Index] = pp, pp
	}
	r.mu.Unlock()
	var err error
	if r.cfg.Secure != nil {
		rd.secure, err = r.cfg.Secure(rs.Number, len(rs.Participants), rd.dim, rd.plan)
		rd.stage = 1
		rd.stageSeen, rd.expect = map[uint32]bool{}, map[uint32]bool{}
		for i := range rd.byIndex {
			rd.expect[i] = true
		}
	} else {
		rd.rule, err = NewAggregator(r.cfg.Rule, rd.dim, r.cfg.Decode)
	}
	return rd, err
}

// reload counts the uploads the store says are complete.
func (rd *round) reload() error {
	if rd.secure != nil {
		return errors.New("secure aggregation state does not survive a restart")
	}
	ups, err := rd.r.store.Uploads(rd.state.Number)
	if err != nil {
		return err
	}
	for _, u := range ups {
		if !u.Done {
			continue
		}
		p := rd.parts[u.Device]
		if p == nil || p.UploadID != u.ID {
			continue
		}
		_, data, err := rd.r.store.Upload(rd.state.Number, u.ID, true)
		if err != nil {
			return err
		}
		delta, err := rd.decode(data)
		if err != nil {
			return err
		}
		if err := rd.rule.AddDelta(delta, float64(u.Examples)); err != nil {
			return err
		}
		p.reported = true
		rd.reported++
	}
	return nil
}

// selectRound waits for enough eligible devices, picks the cohort, stores
// the round and sends the tasks.
func (r *Relay) selectRound() (*round, error) {
	r.prune()
	cfg := r.cfg.Round
	target := int(math.Ceil(float64(cfg.Goal) * cfg.OverSelect))
	start := time.Now()
	var cohort []*device
	tick := time.NewTicker(50 * time.Millisecond)
	defer tick.Stop()
	for {
		r.mu.Lock()
		var avail []*device
		for _, d := range r.devices {
			if d.conn != nil && d.caps.Flags&cfg.Require == cfg.Require {
				avail = append(avail, d)
			}
		}
		r.mu.Unlock()
		if len(avail) >= max(target, cfg.WaitFor) || (len(avail) >= cfg.MinReports && time.Since(start) >= cfg.SelectWait) {
			infos := make([]DeviceInfo, len(avail))
			byID := make(map[string]*device, len(avail))
			r.mu.Lock()
			for i, d := range avail {
				infos[i], byID[d.id] = DeviceInfo{ID: d.id, Caps: d.caps}, d
			}
			number := r.nextRoundNumber()
			r.mu.Unlock()
			for _, id := range r.coord.Select(number, infos, target) {
				if d := byID[id]; d != nil {
					cohort = append(cohort, d)
					delete(byID, id) // each device once
				}
			}
			if len(cohort) == 0 {
				sleepCtx(r.ctx, 100*time.Millisecond)
				continue
			}
			break
		}
		select {
		case <-r.ctx.Done():
			return nil, r.ctx.Err()
		case <-r.kick:
		case <-tick.C:
		}
	}
	r.m.stage.WithLabelValues("select").Observe(time.Since(start).Seconds())
	r.mu.Lock()
	model := r.model
	number := r.nextRoundNumber()
	r.lastRound = number
	r.mu.Unlock()
	planB, err := jsonMarshal(r.cfg.Plan)
	if err != nil {
		return nil, err
	}
	now := time.Now()
	rs := RoundState{Number: number, ModelVersion: model.Version, Plan: planB, StartedMs: now.UnixMilli(),
		DeadlineMs: now.Add(cfg.Deadline).UnixMilli()}
	for i, d := range cohort {
		rs.Participants = append(rs.Participants, Participant{Device: d.id, Index: uint32(i + 1), UploadID: newID()})
	}
	if err := r.store.SaveRound(rs); err != nil {
		return nil, fmt.Errorf("save round %d: %w", number, err)
	}
	rd, err := r.newRound(rs)
	if err != nil {
		r.store.AbandonRound(number)
		return nil, err
	}
	r.mu.Lock()
	r.round = rd
	r.mu.Unlock()
	r.m.roundNum.Set(float64(number))
	r.log.Info("round started", "round", number, "selected", len(cohort), "model_version", model.Version)
	for _, p := range rd.parts {
		r.mu.Lock()
		d := p.dev
		r.mu.Unlock()
		go func() {
			if t := rd.rejoin(d); t != nil {
				r.deliver(d, number, t)
			}
		}()
	}
	return rd, nil
}

// prune forgets devices that have been away longer than the grace period
// (their sessions can no longer be resumed); called between rounds, when
// no device is a participant.
func (r *Relay) prune() {
	r.mu.Lock()
	defer r.mu.Unlock()
	for id, d := range r.devices {
		if d.conn == nil && time.Since(d.lastSeen) > r.cfg.Grace {
			delete(r.devices, id)
		}
	}
}

// rejoin returns the Task for d if it is a participant that still owes
// its update (nil otherwise), noting a resume.
func (rd *round) rejoin(d *device) *wire.Task {
	rd.mu.Lock()
	p := rd.parts[d.id]
	if p == nil || p.reported || p.rejected || rd.closed {
		rd.mu.Unlock()
		return nil
	}
	if p.seen {
		rd.resumed[d.id] = true
	}
	p.seen = true
	rd.mu.Unlock()
	r := rd.r
	r.mu.Lock()
	m, cur := r.model, r.cur
	caps := d.caps
	r.mu.Unlock()
	plan := rd.planB
	if r.cfg.PlanFor != nil {
		if b, err := jsonMarshal(r.cfg.PlanFor(rd.state.Number, caps, rd.plan)); err == nil {
			plan = b
		}
	}
	t := &wire.Task{Round: rd.state.Number, Index: p.Index, Participants: uint32(len(rd.parts)),
		ModelVersion: m.Version, ModelHash: m.Hash, ModelSize: uint64(len(m.Blob)), PlanHash: hashOf(plan),
		Plan: plan, DeadlineMs: rd.state.DeadlineMs, UploadID: p.UploadID, MaxUpdate: r.cfg.Round.MaxUpdate,
		ParamsHash: cur.hash}
	r.offerDelta(t, d.have.Load(), cur)
	return t
}

// offerDelta adds to t a delta from the version the device holds, when
// that version is kept and the delta is smaller than the snapshot.
func (r *Relay) offerDelta(t *wire.Task, have uint64, cur *served) {
	dl, err := r.models.delta(have, cur)
	if err != nil {
		if !errors.Is(err, errNoDelta) {
			r.log.Error("encoding a model delta failed; offering the snapshot", "from", have, "to", cur.version, "err", err)
		}
		return
	}
	if uint64(len(dl.blob)) < t.ModelSize {
		t.BaseVersion, t.DeltaHash, t.DeltaSize = have, dl.hash, uint64(len(dl.blob))
		r.log.Debug("model delta offered", "round", t.Round, "from", have, "to", cur.version, "bytes", t.DeltaSize, "snapshot", t.ModelSize)
	}
}

// collect waits for reports (running secure stages if configured) until
// everyone reported or the deadline, then commits or abandons.
func (r *Relay) collect(rd *round) {
	start := time.Now()
	deadline := time.UnixMilli(rd.state.DeadlineMs)
	timer := time.NewTimer(time.Until(deadline))
	defer timer.Stop()
	if rd.secure != nil {
		r.runStages(rd, deadline)
	} else {
		tick := time.NewTicker(vanishCheck)
		defer tick.Stop()
	wait:
		for {
			select {
			case <-rd.allIn:
				break wait
			case <-timer.C:
				break wait
			case <-tick.C:
				r.markVanished(rd)
			case <-r.ctx.Done():
				return // the round stays open in the store
			}
		}
	}
	r.m.stage.WithLabelValues("collect").Observe(time.Since(start).Seconds())
	r.finish(rd)
}

// vanishCheck is how often a collecting round looks for participants whose
// sessions have expired.
const vanishCheck = 200 * time.Millisecond

// markVanished marks participants that have been away longer than the
// grace period (their sessions can no longer be resumed) as gone, so the
// round stops waiting for them: a phone that died mid-round does not hold
// the round until its deadline. A gone device that comes back with a new
// session may still report.
func (r *Relay) markVanished(rd *round) {
	rd.mu.Lock()
	var owing []*part
	for _, p := range rd.parts {
		if !p.reported && !p.rejected && !p.gone {
			owing = append(owing, p)
		}
	}
	rd.mu.Unlock()
	if len(owing) == 0 {
		return
	}
	now := time.Now()
	var gone []*part
	r.mu.Lock()
	for _, p := range owing {
		if d := p.dev; d.conn == nil && now.Sub(d.lastSeen) > r.cfg.Grace {
			gone = append(gone, p)
		}
	}
	r.mu.Unlock()
	if len(gone) == 0 {
		return
	}
	rd.mu.Lock()
	for _, p := range gone {
		if !p.reported && !p.rejected && !p.gone {
			p.gone = true
			rd.gone++
			r.log.Info("participant vanished", "round", rd.state.Number, "device", p.Device, "index", p.Index)
		}
	}
	rd.checkAllIn()
	rd.signalStage()
	rd.mu.Unlock()
}

func (r *Relay) finish(rd *round) {
	if r.ctx.Err() != nil {
		return
	}
	t0 := time.Now()
	rd.mu.Lock()
	rd.closed = true
	reported := rd.reported
	var delta []float32
	var weight float64
	var err error
	if rd.secure != nil {
		var sum []float32
		var w float64
		sum, w, err = rd.secure.Result()
		weight = w
		if err == nil && w > 0 {
			delta = make([]float32, len(sum))
			for i, x := range sum {
				delta[i] = float32(float64(x) / w)
			}
		}
	} else {
		delta, weight = rd.rule.Result(), rd.rule.Weight()
	}
	rd.mu.Unlock()
	committed, reason := false, ""
	var m Committed
	var sv *served
	switch {
	case err != nil:
		reason = "aggregation failed: " + err.Error()
	case reported < r.cfg.Round.MinReports:
		reason = fmt.Sprintf("%d reports < minimum %d", reported, r.cfg.Round.MinReports)
	case delta == nil || len(delta) != len(r.model.Params):
		reason = "no usable aggregate"
	default:
		r.mu.Lock()
		cur := r.model
		r.mu.Unlock()
		params, opt, err := r.coord.Apply(rd.state.Number, cur, delta, weight, reported)
		switch {
		case err != nil:
			reason = "applying the aggregate failed: " + err.Error()
		case len(params) != len(cur.Params):
			reason = fmt.Sprintf("coordinator returned %d parameters, want %d", len(params), len(cur.Params))
		default:
			var err error
			if m, sv, err = r.makeModel(cur.Version+1, rd.state.Number, params, opt); err != nil {
				reason = err.Error()
			} else if err := r.store.Commit(m); err != nil {
				reason = "store commit failed: " + err.Error()
			} else {
				committed = true
				if err := r.models.committed(sv); err != nil {
					r.log.Error("pruning old model versions failed", "err", err)
				}
			}
		}
	}
	if !committed {
		if err := r.store.AbandonRound(rd.state.Number); err != nil {
			r.log.Error("abandoning round in the store failed", "round", rd.state.Number, "err", err)
		}
	}
	r.m.stage.WithLabelValues("aggregate").Observe(time.Since(t0).Seconds())
	r.mu.Lock()
	if committed {
		r.model, r.cur = m, sv
	}
	r.round = nil
	// Remember what was counted so that a device whose final ack was lost
	// learns it was counted (two rounds back is enough: tasks move on).
	for id, cu := range r.recent {
		if cu.round+2 <= rd.state.Number {
			delete(r.recent, id)
		}
	}
	rd.mu.Lock()
	for _, p := range rd.parts {
		if p.reported {
			r.recent[p.UploadID] = countedUpload{rd.state.Number, p.size, p.crc}
		}
	}
	rd.mu.Unlock()
	cur := r.model
	r.mu.Unlock()
	if committed && r.cfg.OnCommit != nil {
		r.cfg.OnCommit(rd.state.Number, m.Version, m.Params)
	}
	end := &wire.RoundEnd{Round: rd.state.Number, Committed: committed, ModelVersion: cur.Version, ModelHash: cur.Hash, Reason: reason}
	for _, p := range rd.parts {
		go r.deliver(p.dev, rd.state.Number, end)
	}
	r.finishEvent(rd, committed, reason)
}

func (r *Relay) finishEvent(rd *round, committed bool, reason string) {
	rd.mu.Lock()
	ev := RoundEvent{Round: rd.state.Number, Committed: committed, Reason: reason, Selected: len(rd.parts),
		Reported: rd.reported, Dropped: len(rd.parts) - rd.reported - rd.rejected, Resumed: len(rd.resumed),
		Rejected: rd.rejected, Duration: time.Since(rd.started)}
	rd.mu.Unlock()
	r.mu.Lock()
	up, down := r.upTotal.Load(), r.downTotal.Load()
	ev.BytesUp, ev.BytesDown = up-r.bytesBaseUp, down-r.bytesBaseDown
	r.bytesBaseUp, r.bytesBaseDown = up, down
	ev.ModelVersion = r.model.Version
	r.lastEvt = &ev
	r.mu.Unlock()
	result := "abandoned"
	if committed {
		result = "committed"
	}
	r.m.rounds.WithLabelValues(result).Inc()
	r.log.Info("round ended", "round", ev.Round, "result", result, "reason", reason, "selected", ev.Selected,
		"reported", ev.Reported, "dropped", ev.Dropped, "resumed", ev.Resumed)
	if r.cfg.OnRound != nil {
		r.cfg.OnRound(ev)
	}
}

// part returns the participant for a device and upload id, replying with
// the right error when there is none.
func (rd *round) part(c *conn, id wire.ID16) *part {
	p := rd.parts[c.dev.id]
	if p == nil {
		c.reply(wire.CodeNotSelected, id, 0, "device is not a participant of this round")
		return nil
	}
	if id != (wire.ID16{}) && p.UploadID != id {
		c.reply(wire.CodeUnknownUpload, id, 0, "upload id was not issued to this device this round")
		return nil
	}
	return p
}

func (rd *round) lateOrClosed(c *conn, id wire.ID16) bool {
	if rd.closed || time.Now().UnixMilli() >= rd.state.DeadlineMs {
		c.reply(wire.CodeLate, id, 0, "the round's deadline has passed")
		return true
	}
	return false
}

func (rd *round) begin(c *conn, m *wire.UploadBegin) {
	rd.mu.Lock()
	p := rd.part(c, m.UploadID)
	if p == nil {
		rd.mu.Unlock()
		return
	}
	if p.reported {
		rd.mu.Unlock()
		if u, _, err := rd.r.store.Upload(rd.state.Number, m.UploadID, false); err == nil && (u.Size != m.Size || u.CRC != m.CRC) {
			c.reply(wire.CodeDuplicate, m.UploadID, u.Size, "an update for this round is already counted")
			return
		}
		c.send(&wire.UploadAck{UploadID: m.UploadID, Offset: m.Size, Done: true})
		return
	}
	if p.rejected || rd.lateOrClosed(c, m.UploadID) {
		if p.rejected {
			c.reply(wire.CodeBadUpdate, m.UploadID, 0, "this device's update was rejected this round")
		}
		rd.mu.Unlock()
		return
	}
	rd.mu.Unlock()
	if m.Size > rd.r.cfg.Round.MaxUpdate {
		c.reply(wire.CodeUpdateTooBig, m.UploadID, 0, fmt.Sprintf("update of %d bytes > limit %d", m.Size, rd.r.cfg.Round.MaxUpdate))
		return
	}
	u, err := rd.r.store.BeginUpload(rd.state.Number, UploadMeta{ID: m.UploadID, Device: c.dev.id, Size: m.Size, CRC: m.CRC, Examples: m.Examples})
	switch {
	case errors.Is(err, ErrUploadChanged):
		c.reply(wire.CodeDuplicate, m.UploadID, u.Offset, "upload already declared with a different size or checksum")
		return
	case err != nil:
		rd.r.log.Error("store: begin upload", "err", err)
		c.reply(wire.CodeInternal, m.UploadID, 0, "store failure")
		return
	}
	if u.Offset == u.Size && !u.Done {
		rd.complete(c, p, u)
		return
	}
	c.send(&wire.UploadAck{UploadID: m.UploadID, Offset: u.Offset, Done: u.Done})
}

func (rd *round) chunk(c *conn, m *wire.UploadChunk) {
	rd.mu.Lock()
	p := rd.part(c, m.UploadID)
	if p == nil || rd.lateOrClosed(c, m.UploadID) {
		rd.mu.Unlock()
		return
	}
	if p.reported {
		rd.mu.Unlock()
		c.reply(wire.CodeDuplicate, m.UploadID, 0, "update already counted")
		return
	}
	rd.mu.Unlock()
	st := rd.r.store
	if crc32.Checksum(m.Data, castagnoli) != m.CRC {
		u, _, _ := st.Upload(rd.state.Number, m.UploadID, false)
		c.reply(wire.CodeBadChecksum, m.UploadID, u.Offset, "chunk CRC-32C mismatch")
		return
	}
	off, err := st.AppendUpload(rd.state.Number, m.UploadID, m.Offset, m.Data)
	switch {
	case errors.Is(err, ErrStaleOffset):
		c.reply(wire.CodeStaleOffset, m.UploadID, off, err.Error())
		return
	case errors.Is(err, ErrUploadDone):
		c.reply(wire.CodeDuplicate, m.UploadID, off, "update already counted")
		return
	case errors.Is(err, ErrUploadFull):
		c.reply(wire.CodeUpdateTooBig, m.UploadID, off, err.Error())
		return
	case errors.Is(err, ErrUnknownUpload):
		c.reply(wire.CodeUnknownUpload, m.UploadID, 0, "send UploadBegin first")
		return
	case err != nil:
		rd.r.log.Error("store: append", "err", err)
		c.reply(wire.CodeInternal, m.UploadID, 0, "store failure")
		return
	}
	u, _, err := st.Upload(rd.state.Number, m.UploadID, false)
	if err == nil && off == u.Size {
		rd.complete(c, p, u)
		return
	}
	c.send(&wire.UploadAck{UploadID: m.UploadID, Offset: off})
}

// decode validates an update (outside the round lock, concurrently
// across devices); the delta may alias data.
func (rd *round) decode(data []byte) ([]float32, error) { return rd.rule.Validate(data) }

// complete verifies a fully received upload and counts it exactly once.
func (rd *round) complete(c *conn, p *part, u UploadMeta) {
	st := rd.r.store
	_, data, err := st.Upload(rd.state.Number, u.ID, true)
	if err != nil {
		c.reply(wire.CodeInternal, u.ID, 0, "store failure")
		return
	}
	var delta []float32
	if crc32.Checksum(data, castagnoli) != u.CRC {
		err = fmt.Errorf("%w: whole-update CRC-32C mismatch", ErrBadUpdate)
	} else if rd.secure == nil {
		delta, err = rd.decode(data)
	}
	rd.mu.Lock()
	defer rd.mu.Unlock()
	if p.reported {
		c.send(&wire.UploadAck{UploadID: u.ID, Offset: u.Size, Done: true})
		return
	}
	if rd.closed {
		c.reply(wire.CodeLate, u.ID, 0, "the round has closed")
		return
	}
	if err == nil && rd.secure != nil {
		if rd.stage != rd.secure.InputStage() {
			err = fmt.Errorf("masked input outside stage %d", rd.secure.InputStage())
		} else {
			err = rd.secure.Collect(rd.stage, p.Index, data, u.Examples)
		}
	}
	if err != nil {
		if !p.rejected {
			p.rejected = true
			rd.rejected++
		}
		rd.r.log.Info("update rejected", "device", c.dev.id, "round", rd.state.Number, "err", err)
		c.reply(wire.CodeBadUpdate, u.ID, u.Size, err.Error())
		rd.checkAllIn()
		return
	}
	if err := st.CompleteUpload(rd.state.Number, u.ID); err != nil {
		c.reply(wire.CodeInternal, u.ID, 0, "store failure")
		return
	}
	if rd.secure == nil {
		rd.rule.AddDelta(delta, float64(u.Examples)) // validated; weights are uint64
	} else {
		rd.stageSeen[p.Index] = true
		rd.signalStage()
	}
	p.reported, p.size, p.crc = true, u.Size, u.CRC
	rd.reported++
	c.dev.have.Store(rd.state.ModelVersion) // it trained on it
	c.send(&wire.UploadAck{UploadID: u.ID, Offset: u.Size, Done: true})
	rd.checkAllIn()
}

// checkAllIn closes allIn when no participant still owes an update.
func (rd *round) checkAllIn() {
	if rd.reported+rd.rejected+rd.gone >= len(rd.parts) {
		select {
		case <-rd.allIn:
		default:
			close(rd.allIn)
		}
	}
}

func hashOf(b []byte) wire.Hash { return sha256.Sum256(b) }
