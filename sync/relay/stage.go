package relay

import (
	"fmt"
	"time"

	"github.com/murmur-fl/murmur/sync/wire"
)

// StageServer is the relay side of a multi-stage secure aggregation
// protocol among a round's participants (SecAgg+ from secagg/ plugs in
// here through Config.Secure). The relay only routes: it opens stage 1 when
// the round's tasks go out, hands every device's message for the open stage
// to Collect, and closes the stage when every live participant has spoken
// or the stage timeout passes. Close returns what to deliver for the next
// stage. The masked input travels through the resumable upload path (it is
// model-sized); its completed bytes are given to Collect at InputStage.
type StageServer interface {
	// InputStage is the stage whose message is the uploaded masked vector.
	InputStage() uint8
	// Collect records one participant's message for the open stage.
	// Idempotence within a stage (a device resending after a resume) is the
	// implementation's job; an error is reported to the device.
	Collect(stage uint8, from uint32, payload []byte, examples uint64) error
	// Close ends stage with the messages collected so far and returns the
	// messages to deliver (To == 0 means every participant still alive)
	// and the next stage, or next == 0 when the protocol has finished.
	Close(stage uint8) (out []Routed, next uint8, err error)
	// Result returns the aggregate after the protocol finished: the sum of
	// the participants' deltas and the sum of their weights.
	Result() (sum []float32, weight float64, err error)
}

// Routed is one stage message the relay delivers to a participant.
type Routed struct {
	To      uint32 // participant index; 0: every participant
	From    uint32 // sender index; 0: the relay/server
	Stage   uint8
	Payload []byte
}

func (rd *round) signalStage() {
	select {
	case rd.stageIn <- struct{}{}:
	default:
	}
}

// stageMsg hands a device's stage message to the StageServer.
func (rd *round) stageMsg(c *conn, m *wire.Stage) {
	rd.mu.Lock()
	defer rd.mu.Unlock()
	p := rd.part(c, wire.ID16{})
	if p == nil {
		return
	}
	switch {
	case rd.secure == nil:
		c.reply(wire.CodeBadStage, wire.ID16{}, 0, "this round runs no secure aggregation")
		return
	case rd.closed || m.Stage != rd.stage:
		c.reply(wire.CodeBadStage, wire.ID16{}, uint64(rd.stage), fmt.Sprintf("stage %d is not open (open: %d)", m.Stage, rd.stage))
		return
	case m.Stage == rd.secure.InputStage():
		c.reply(wire.CodeBadStage, wire.ID16{}, uint64(rd.stage), "the masked input travels as an upload")
		return
	}
	if err := rd.secure.Collect(m.Stage, p.Index, m.Payload, 0); err != nil {
		c.reply(wire.CodeBadStage, wire.ID16{}, uint64(rd.stage), err.Error())
		return
	}
	rd.stageSeen[p.Index] = true
	rd.signalStage()
}

// runStages drives the StageServer: each stage closes when every
// participant has spoken or its timeout passes (the input stage waits for
// the round deadline), and its output is routed.
func (r *Relay) runStages(rd *round, deadline time.Time) {
	for {
		rd.mu.Lock()
		stage := rd.stage
		input := rd.secure.InputStage()
		rd.mu.Unlock()
		if stage == 0 {
			return
		}
		// Stages up to the input stage must end by the round deadline;
		// the ones after it (consistency, unmask) get StageTimeout each.
		end := deadline
		if stage != input {
			end = time.Now().Add(r.cfg.Round.StageTimeout)
			if stage < input && end.After(deadline) {
				end = deadline
			}
		}
		timer := time.NewTimer(time.Until(end))
		tick := time.NewTicker(vanishCheck)
	wait:
		for {
			rd.mu.Lock()
			all := true
			for idx := range rd.expect {
				if p := rd.byIndex[idx]; !rd.stageSeen[idx] && (p == nil || !p.gone) {
					all = false
					break
				}
			}
			rd.mu.Unlock()
			if all {
				break
			}
			select {
			case <-rd.stageIn:
			case <-tick.C:
				r.markVanished(rd)
			case <-timer.C:
				break wait
			case <-r.ctx.Done():
				timer.Stop()
				tick.Stop()
				return
			}
		}
		timer.Stop()
		tick.Stop()
		rd.mu.Lock()
		out, next, err := rd.secure.Close(stage)
		// Who did not speak in this stage has dropped out of the protocol.
		rd.expect, rd.stageSeen = rd.stageSeen, map[uint32]bool{}
		rd.stage = next
		if err != nil {
			rd.stage = 0
		}
		parts := rd.byIndex
		rd.mu.Unlock()
		if err != nil {
			r.log.Warn("secure aggregation stage failed", "round", rd.state.Number, "stage", stage, "err", err)
			return
		}
		sent := map[uint32][]wire.Message{}
		for _, o := range out {
			msg := &wire.Stage{Round: rd.state.Number, Stage: o.Stage, Peer: o.From, Payload: o.Payload}
			if o.To == 0 {
				for idx, p := range parts {
					sent[idx] = append(sent[idx], msg)
					go r.deliver(p.dev, rd.state.Number, msg)
				}
			} else if p := parts[o.To]; p != nil {
				sent[o.To] = append(sent[o.To], msg)
				go r.deliver(p.dev, rd.state.Number, msg)
			}
		}
		rd.mu.Lock()
		rd.stageOut = sent
		rd.mu.Unlock()
	}
}

// resendStage sends d the messages that opened the current stage again: a
// message written to a link that died before the device read it is lost
// otherwise, and the device would wait for it until the deadline. Devices
// take one message per stage and drop copies.
func (rd *round) resendStage(c *conn, d *device) {
	rd.mu.Lock()
	var msgs []wire.Message
	if p := rd.parts[d.id]; p != nil && rd.secure != nil && !rd.closed {
		msgs = rd.stageOut[p.Index]
	}
	rd.mu.Unlock()
	for _, m := range msgs {
		if c.send(m) != nil {
			return
		}
	}
}
