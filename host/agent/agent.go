package agent

import (
	"context"
	cryptorand "crypto/rand"
	"encoding/binary"
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"math/rand/v2"
	"strconv"
	"time"

	"github.com/murmur-fl/murmur/secagg"
	"github.com/murmur-fl/murmur/sync/client"
	"github.com/murmur-fl/murmur/sync/codec"
	"github.com/murmur-fl/murmur/sync/wire"
)

// Config configures an Agent.
type Config struct {
	// Client is the device's connection to the relay. Required.
	Client *client.Client
	// Trainer runs the training core. Required.
	Trainer Trainer
	// Data is the device's local training data. Required.
	Data Dataset
	// Seed makes the device's training reproducible (model init, shuffles).
	Seed uint64
	// State keeps the agent's training checkpoints and error-feedback
	// residual across restarts (usually the client's Storage). Default: the
	// checkpoints live only in memory.
	State client.Storage
	// CheckpointEvery is how many local steps run between checkpoints.
	// Default 25.
	CheckpointEvery int
	// OnEvent, if set, hears what the agent does (for progress displays).
	OnEvent func(Event)
	// Interrupt, if set, is asked before each chunk of local steps and
	// before uploading; returning true abandons the round, as a device
	// unplugged from its charger would (the simulator's dropouts).
	Interrupt func(round uint64, phase string) bool
}

// Event reports one step of the device loop.
type Event struct {
	Round uint64
	Phase string // "task", "download", "train", "upload", "done", "dropped"
	Steps int    // local steps done so far in this round
	Of    int    // local steps planned
	Loss  float32
	Err   error
}

// roundSlack is how long past a round's deadline a device still waits for
// the relay's verdict.
const roundSlack = 30 * time.Second

// ErrInterrupted is returned by RunRound when Config.Interrupt abandoned it.
var ErrInterrupted = errors.New("agent: round interrupted on the device")

// Agent is a device taking part in federated rounds.
type Agent struct {
	cfg      Config
	spec     []byte
	global   []float32 // the model held: exactly what the relay served for version
	version  uint64
	hash     wire.Hash // wire.ParamsHash(global)
	residual codec.Residual
	update   []float32
	last     uint64 // the last round taken part in
}

// New validates cfg and returns an Agent.
func New(cfg Config) (*Agent, error) {
	if cfg.Client == nil || cfg.Trainer == nil {
		return nil, errors.New("agent: Config.Client and Config.Trainer are required")
	}
	if cfg.Data.N == 0 {
		return nil, errors.New("agent: the device has no local data")
	}
	if cfg.State == nil {
		cfg.State = client.MemStorage()
	}
	if cfg.CheckpointEvery <= 0 {
		cfg.CheckpointEvery = 25
	}
	a := &Agent{cfg: cfg}
	if b, err := cfg.State.Get("agent-residual"); err == nil {
		if err := a.residual.UnmarshalBinary(b); err != nil {
			return nil, fmt.Errorf("agent: saved error-feedback residual: %w", err)
		}
	}
	if b, err := cfg.State.Get(modelKey); err == nil {
		// A corrupt saved model is not fatal: the device downloads the
		// snapshot, as a new one would.
		a.global, a.version, a.hash, _ = unmarshalModel(b)
	}
	// The client tells the relay what this device holds on every
	// connection, so the relay can offer a delta against it.
	cfg.Client.SetHaveModel(a.version)
	return a, nil
}

// modelKey is where State keeps the model the device holds, so a restarted
// device still gets deltas against it.
const modelKey = "agent-model"

// marshalModel lays out a held model: u64 version, its 32-byte params hash,
// then the parameters as little-endian float32.
func marshalModel(version uint64, hash wire.Hash, params []float32) []byte {
	b := make([]byte, 0, 40+4*len(params))
	b = binary.LittleEndian.AppendUint64(b, version)
	b = append(b, hash[:]...)
	for _, x := range params {
		b = binary.LittleEndian.AppendUint32(b, math.Float32bits(x))
	}
	return b
}

func unmarshalModel(b []byte) ([]float32, uint64, wire.Hash, error) {
	var h wire.Hash
	if len(b) < 40 || (len(b)-40)%4 != 0 {
		return nil, 0, h, fmt.Errorf("agent: saved model of %d bytes", len(b))
	}
	v := binary.LittleEndian.Uint64(b)
	copy(h[:], b[8:40])
	p := make([]float32, (len(b)-40)/4)
	for i := range p {
		p[i] = math.Float32frombits(binary.LittleEndian.Uint32(b[40+4*i:]))
	}
	if v == 0 || wire.ParamsHash(p) != h {
		return nil, 0, wire.Hash{}, errors.New("agent: saved model does not match its hash")
	}
	return p, v, h, nil
}

// ForgetRound deletes what state keeps of a round the device will not
// finish: its training checkpoint and SecAgg+ state (the held model and the
// error-feedback residual stay).
func ForgetRound(state client.Storage, round uint64) {
	state.Delete(ckptKey(round))
	state.Delete(secureKey(round))
}

func ckptKey(round uint64) string { return "agent-ckpt-" + strconv.FormatUint(round, 10) }

// HeldModel returns the model version and parameters the agent holds (nil
// and 0 when none); do not modify the parameters.
func (a *Agent) HeldModel() ([]float32, uint64) { return a.global, a.version }

func (a *Agent) emit(e Event) {
	if a.cfg.OnEvent != nil {
		a.cfg.OnEvent(e)
	}
}

// Run takes part in rounds until ctx ends: it waits for a task, runs it,
// and waits for the next. A round that fails on the device is reported
// through OnEvent and the agent goes on with the next one.
func (a *Agent) Run(ctx context.Context) error {
	for {
		t, err := a.cfg.Client.NextTask(ctx, a.last)
		if err != nil {
			return err
		}
		if _, err := a.RunRound(ctx, t); err != nil {
			if ctx.Err() != nil {
				return ctx.Err()
			}
			a.emit(Event{Round: t.Round, Phase: "dropped", Err: err})
		}
	}
}

// Result is what a device did in one round.
type Result struct {
	Round     uint64
	Steps     int
	Loss      float32
	Examples  int
	UpBytes   int
	DownBytes int    // model bytes downloaded this round (0: the device held the model)
	Download  string // "none", "delta", "snapshot", or "delta-failed,snapshot"
	Committed bool
}

// RunRound trains for task t, uploads the update and waits for the round's end.
func (a *Agent) RunRound(ctx context.Context, t *wire.Task) (Result, error) {
	res := Result{Round: t.Round}
	a.last = max(a.last, t.Round)
	a.emit(Event{Round: t.Round, Phase: "task"})
	// Nothing of a round outlives its deadline (plus time for the relay to
	// close it): a device never hangs on a round the relay has given up.
	ctx, cancel := context.WithDeadline(ctx, time.UnixMilli(t.DeadlineMs).Add(roundSlack))
	defer cancel()
	var plan wire.Plan
	if err := json.Unmarshal(t.Plan, &plan); err != nil {
		return res, fmt.Errorf("agent: round %d plan: %w", t.Round, err)
	}
	if plan.LocalSteps <= 0 || plan.BatchSize <= 0 {
		return res, fmt.Errorf("agent: round %d plan has local_steps %d, batch_size %d", t.Round, plan.LocalSteps, plan.BatchSize)
	}
	var cc codec.Config
	if len(plan.Codec) > 0 {
		if err := json.Unmarshal(plan.Codec, &cc); err != nil {
			return res, fmt.Errorf("agent: round %d codec config: %w", t.Round, err)
		}
	}
	// A SecAgg+ round this device was in before a restart continues where
	// it stopped; an encoded plaintext upload resumes as it is.
	if plan.SecAgg != nil {
		if r, ok, err := a.resumeSecure(ctx, t, res); ok || err != nil {
			return r, err
		}
	} else if payload, ex, ok := a.cfg.Client.SavedUpload(t.UploadID); ok {
		return a.upload(ctx, t, res, payload, ex)
	}

	a.emit(Event{Round: t.Round, Phase: "download"})
	if err := a.loadModel(ctx, t, plan, &res); err != nil {
		return res, err
	}

	ckKey := ckptKey(t.Round)
	tr := a.cfg.Trainer
	done := 0
	if ck, err := a.cfg.State.Get(ckKey); err == nil && len(ck) > 8 {
		done = int(binary.LittleEndian.Uint64(ck))
		if err := tr.Restore(ctx, ck[8:]); err != nil {
			done = 0
		}
	}
	if done == 0 {
		if err := tr.BeginRound(ctx, a.global, plan.Optimizer); err != nil {
			return res, err
		}
	}
	seed := a.cfg.Seed ^ t.Round*0x9e3779b97f4a7c15
	var lossSum float64
	for done < plan.LocalSteps {
		if a.cfg.Interrupt != nil && a.cfg.Interrupt(t.Round, "train") {
			return res, ErrInterrupted
		}
		n := min(a.cfg.CheckpointEvery, plan.LocalSteps-done)
		st, err := tr.Train(ctx, n, plan.BatchSize, seed)
		if err != nil {
			return res, err
		}
		done += n
		lossSum += float64(st.Loss) * float64(n)
		a.emit(Event{Round: t.Round, Phase: "train", Steps: done, Of: plan.LocalSteps, Loss: st.Loss})
		if done < plan.LocalSteps {
			ck, err := tr.Checkpoint(ctx)
			if err != nil {
				return res, err
			}
			a.cfg.State.Put(ckKey, append(binary.LittleEndian.AppendUint64(nil, uint64(done)), ck...))
		}
	}
	res.Steps = done
	res.Loss = float32(lossSum / float64(max(done, 1)))
	examples := a.cfg.Data.N // FedAvg weighs a device by its data set size
	upd, err := tr.Update(ctx, a.update)
	if err != nil {
		return res, err
	}
	a.update = upd
	for _, v := range upd {
		if math.IsNaN(float64(v)) || math.IsInf(float64(v), 0) {
			return res, fmt.Errorf("agent: round %d: local training diverged (NaN/Inf in the update)", t.Round)
		}
	}
	a.cfg.State.Delete(ckKey)
	if a.cfg.Interrupt != nil && a.cfg.Interrupt(t.Round, "upload") {
		return res, ErrInterrupted
	}
	if plan.SecAgg != nil {
		return a.secure(ctx, t, plan.SecAgg, res, upd, uint64(examples))
	}
	payload, err := a.encode(cc, upd, t)
	if err != nil {
		return res, err
	}
	return a.upload(ctx, t, res, payload, uint64(examples))
}

// secure runs the device's side of SecAgg+ (see relay.SecAgg for the stage
// numbering): the update is clipped, quantized into Z_2^B and masked; the
// relay only ever sees masked vectors and learns the sum.
func (a *Agent) secure(ctx context.Context, t *wire.Task, p *wire.SecAggPlan, res Result, upd []float32, examples uint64) (Result, error) {
	a.emit(Event{Round: t.Round, Phase: "upload"})
	sp, enc, err := p.Setup(t.Round, int(t.Participants), len(upd))
	if err != nil {
		return res, err
	}
	var input []uint64
	rng := rand.NewPCG(a.cfg.Seed, t.Round)
	examples = p.Weight(examples)
	if p.Feedback {
		input, err = enc.EncodeFeedback(nil, upd, examples, rng, &a.residual)
		if err == nil {
			a.saveResidual()
		}
	} else {
		input, err = enc.Encode(nil, upd, examples, rng)
	}
	if err != nil {
		return res, err
	}
	sc, err := secagg.NewClient(sp, secagg.ClientID(t.Index), input, cryptorand.Reader)
	if err != nil {
		return res, err
	}
	st := secureState{Next: 2, Reply: sc.Start(), Examples: examples}
	return a.runSecure(ctx, t, sc, st, res)
}

// secureState is what a device keeps of a SecAgg+ round in its State, so
// that a restarted process continues the protocol instead of starting
// over (which SecAgg+ forbids: it would answer twice with different keys).
// It is saved after the client handled a message and before the reply
// leaves, so no reply is ever sent that the saved state does not know.
type secureState struct {
	Next     uint8  `json:"next"`     // the stage whose message comes next
	Reply    []byte `json:"reply"`    // the reply for stage Next-1, re-sent on resume (idempotent)
	Client   []byte `json:"client"`   // secagg.Client.MarshalBinary
	Examples uint64 `json:"examples"` // the weight sent
}

func secureKey(round uint64) string { return "agent-secagg-" + strconv.FormatUint(round, 10) }

// runSecure sends st.Reply for stage st.Next-1 and runs the remaining
// stages, saving the state before every reply.
func (a *Agent) runSecure(ctx context.Context, t *wire.Task, sc *secagg.Client, st secureState, res Result) (Result, error) {
	send := func(stage uint8, reply []byte) error {
		if stage == 3 { // the masked input travels as a resumable upload
			res.UpBytes = len(reply)
			return a.cfg.Client.Upload(ctx, t, st.Examples, reply)
		}
		return a.cfg.Client.SendStage(ctx, t.Round, stage, 0, reply)
	}
	save := func() error {
		var err error
		if st.Client, err = sc.MarshalBinary(); err != nil {
			return err
		}
		b, err := json.Marshal(st)
		if err != nil {
			return err
		}
		return a.cfg.State.Put(secureKey(t.Round), b)
	}
	if err := save(); err != nil {
		return res, err
	}
	if err := send(st.Next-1, st.Reply); err != nil {
		return res, err
	}
	for !sc.Done() {
		m, err := a.cfg.Client.RecvStage(ctx, t.Round, st.Next)
		if err != nil {
			return res, err
		}
		reply, err := sc.Handle(m.Payload)
		if err != nil {
			return res, fmt.Errorf("agent: secagg stage %d: %w", st.Next, err)
		}
		if reply == nil {
			break
		}
		st.Reply, st.Next = reply, st.Next+1
		if err := save(); err != nil {
			return res, err
		}
		if err := send(st.Next-1, reply); err != nil {
			return res, err
		}
	}
	res.Examples = int(st.Examples)
	end, err := a.cfg.Client.WaitRoundEnd(ctx, t.Round)
	if err != nil {
		return res, err
	}
	a.cfg.State.Delete(secureKey(t.Round))
	res.Committed = end.Committed
	a.emit(Event{Round: t.Round, Phase: "done", Steps: res.Steps, Loss: res.Loss})
	return res, nil
}

// resumeSecure continues a SecAgg+ round a previous process of this device
// was in, if its State says so.
func (a *Agent) resumeSecure(ctx context.Context, t *wire.Task, res Result) (Result, bool, error) {
	b, err := a.cfg.State.Get(secureKey(t.Round))
	if err != nil {
		return res, false, nil
	}
	var st secureState
	if err := json.Unmarshal(b, &st); err != nil || st.Next < 2 {
		return res, false, fmt.Errorf("agent: saved secagg state for round %d is corrupt", t.Round)
	}
	sc, err := secagg.RestoreClient(st.Client)
	if err != nil {
		return res, false, fmt.Errorf("agent: saved secagg state for round %d: %w", t.Round, err)
	}
	a.emit(Event{Round: t.Round, Phase: "upload"})
	res, err = a.runSecure(ctx, t, sc, st, res)
	return res, true, err
}

func (a *Agent) upload(ctx context.Context, t *wire.Task, res Result, payload []byte, examples uint64) (Result, error) {
	a.emit(Event{Round: t.Round, Phase: "upload"})
	if err := a.cfg.Client.Upload(ctx, t, examples, payload); err != nil {
		return res, err
	}
	res.UpBytes, res.Examples = len(payload), int(examples)
	end, err := a.cfg.Client.WaitRoundEnd(ctx, t.Round)
	if err != nil {
		return res, err
	}
	res.Committed = end.Committed
	a.emit(Event{Round: t.Round, Phase: "done", Steps: res.Steps, Loss: res.Loss})
	return res, nil
}

// loadModel makes sure the trainer holds the plan's model with the task's
// global parameters in a.global: kept if the device already holds that
// version, else from the delta the relay offers against the version held,
// else from the snapshot. Every path ends in the same parameters, checked
// against the task's params hash before they are used or saved.
func (a *Agent) loadModel(ctx context.Context, t *wire.Task, plan wire.Plan, res *Result) error {
	res.Download = "none"
	if a.global == nil || a.version != t.ModelVersion || (!t.ParamsHash.IsZero() && a.hash != t.ParamsHash) {
		params, err := a.fetchModel(ctx, t, res)
		if err != nil {
			return err
		}
		a.global, a.version, a.hash = params, t.ModelVersion, wire.ParamsHash(params)
		if err := a.cfg.State.Put(modelKey, marshalModel(a.version, a.hash, a.global)); err != nil {
			return fmt.Errorf("agent: save model v%d: %w", a.version, err)
		}
		a.cfg.Client.SetHaveModel(a.version)
	}
	if string(plan.Model) != string(a.spec) {
		if err := a.cfg.Trainer.Load(ctx, plan.Model, a.cfg.Seed); err != nil {
			return err
		}
		if err := a.cfg.Trainer.SetData(ctx, 0, a.cfg.Data); err != nil {
			return err
		}
		a.spec = append(a.spec[:0], plan.Model...)
	}
	if n := a.cfg.Trainer.NumParams(); n != len(a.global) {
		return fmt.Errorf("agent: model v%d has %d parameters, the plan's spec has %d", t.ModelVersion, len(a.global), n)
	}
	return nil
}

// fetchModel downloads the task's model: the offered delta when the device
// holds its base, else (or when the delta does not check out) the snapshot.
func (a *Agent) fetchModel(ctx context.Context, t *wire.Task, res *Result) ([]float32, error) {
	if t.BaseVersion != 0 && t.BaseVersion == a.version && a.global != nil {
		blob, err := a.cfg.Client.Download(ctx, t.DeltaHash)
		if err != nil && ctx.Err() != nil {
			return nil, fmt.Errorf("agent: download model delta v%d->v%d: %w", t.BaseVersion, t.ModelVersion, err)
		}
		if err == nil {
			res.DownBytes += len(blob)
			p, v, err := codec.DecodeModel(blob, a.global, a.version, codec.WithDim(len(a.global)))
			switch {
			case err != nil:
			case v != t.ModelVersion:
				err = fmt.Errorf("delta leads to version %d", v)
			case !t.ParamsHash.IsZero() && wire.ParamsHash(p) != t.ParamsHash:
				err = errors.New("reconstructed parameters do not match the task's params hash")
			}
			if err == nil {
				res.Download = "delta"
				return p, nil
			}
		}
		// The relay's guess or our copy was off: the snapshot always works.
		res.Download = "delta-failed,"
	}
	blob, err := a.cfg.Client.Download(ctx, t.ModelHash)
	if err != nil {
		return nil, fmt.Errorf("agent: download model v%d: %w", t.ModelVersion, err)
	}
	res.DownBytes += len(blob)
	params, err := decodeModel(blob)
	if err != nil {
		return nil, fmt.Errorf("agent: model v%d: %w", t.ModelVersion, err)
	}
	if !t.ParamsHash.IsZero() && wire.ParamsHash(params) != t.ParamsHash {
		return nil, fmt.Errorf("agent: model v%d snapshot does not decode to the task's params hash", t.ModelVersion)
	}
	if res.Download == "none" {
		res.Download = ""
	}
	res.Download += "snapshot"
	return params, nil
}

// decodeModel reads a model blob: a sync/codec frame, or the relay's
// default encoding, raw little-endian float32.
func decodeModel(blob []byte) ([]float32, error) {
	p, _, err := codec.DecodeModel(blob, nil, 0)
	if err == nil {
		return p, nil
	}
	if len(blob)%4 != 0 {
		return nil, err
	}
	p = make([]float32, len(blob)/4)
	for i := range p {
		p[i] = math.Float32frombits(binary.LittleEndian.Uint32(blob[4*i:]))
	}
	return p, nil
}

// saveResidual keeps the error-feedback residual across restarts.
func (a *Agent) saveResidual() {
	if b, err := a.residual.MarshalBinary(); err == nil {
		a.cfg.State.Put("agent-residual", b)
	}
}

// encode turns the update into the upload payload per the plan's codec.
func (a *Agent) encode(cc codec.Config, upd []float32, t *wire.Task) ([]byte, error) {
	if cc.Codec == "" {
		cc.Codec = "float32"
	}
	enc, err := codec.NewEncoder(cc, codec.WithRand(rand.NewPCG(a.cfg.Seed, t.Round)))
	if err != nil {
		return nil, err
	}
	var payload []byte
	switch cc.Codec {
	case "topk", "qsgd":
		payload, err = enc.EncodeFeedback(upd, &a.residual)
		if err == nil {
			a.saveResidual()
		}
	default:
		payload, err = enc.Encode(upd)
	}
	return payload, err
}
