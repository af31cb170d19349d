package agent_test

import (
	"context"
	"encoding/json"
	"io"
	"log/slog"
	"net"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/murmur-fl/murmur/host/agent"
	"github.com/murmur-fl/murmur/runtime/nn"
	"github.com/murmur-fl/murmur/sync/client"
	"github.com/murmur-fl/murmur/sync/relay"
	"github.com/murmur-fl/murmur/sync/wire"
)

const spec = `{"input":[4],"layers":[{"type":"dense","units":3}],"loss":"softmax_xent"}`

var tokens = relay.HMACTokens{Secret: []byte("agent-test")}

func quiet() *slog.Logger { return slog.New(slog.NewTextHandler(io.Discard, nil)) }

func data(seed int) agent.Dataset {
	d := agent.Dataset{N: 24}
	for i := 0; i < d.N; i++ {
		c := (i + seed) % 3
		for j := 0; j < 4; j++ {
			d.X = append(d.X, float32((c+j)%3)+0.1*float32(i%5))
		}
		d.Labels = append(d.Labels, int32(c))
	}
	return d
}

// crashAfterSave is a Storage that "kills the process" (cancels its
// context) right after the agent saved its SecAgg state for the n-th time,
// before the reply that state describes is sent: the hardest moment.
type crashAfterSave struct {
	client.Storage
	n      int
	saves  int
	cancel func()
}

func (s *crashAfterSave) Put(k string, v []byte) error {
	err := s.Storage.Put(k, v)
	if strings.HasPrefix(k, "agent-secagg-") {
		s.saves++
		if s.saves == s.n {
			s.cancel()
		}
	}
	return err
}

// TestSecAggResumeAfterRestart: a device whose process dies in the middle of
// a SecAgg+ round (after saving its state for stage 2, before replying)
// comes back as a new process with the same state folder and finishes the
// round; the round commits with every device's update.
func TestSecAggResumeAfterRestart(t *testing.T) {
	m, err := nn.Build(mustSpec(t), 1)
	if err != nil {
		t.Fatal(err)
	}
	opt, _ := json.Marshal(map[string]any{"lr": 0.1})
	plan := relay.Plan{Model: []byte(spec), Optimizer: opt, LocalSteps: 4, BatchSize: 8,
		SecAgg: &wire.SecAggPlan{Bits: 16, ClipNorm: 10, MaxWeight: 100}}
	events := make(chan relay.RoundEvent, 4)
	r, err := relay.New(relay.Config{Auth: tokens, InitialParams: m.Params(), Plan: plan, Secure: relay.SecAgg, Logger: quiet(),
		Grace: 20 * time.Second, OnRound: func(e relay.RoundEvent) { events <- e },
		Round: relay.RoundConfig{Goal: 3, MinReports: 3, OverSelect: 1, Deadline: 40 * time.Second, StageTimeout: 20 * time.Second, Rounds: 1}})
	if err != nil {
		t.Fatal(err)
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	go r.Serve(ln)
	defer r.Shutdown(context.Background())
	url := "ws://" + ln.Addr().String() + "/ws"
	newClient := func(id string, st client.Storage) *client.Client {
		c, err := client.New(client.Config{URL: url, Token: tokens.Issue(id), DeviceID: id, State: st, Logger: quiet(),
			MinBackoff: 10 * time.Millisecond, MaxBackoff: 200 * time.Millisecond})
		if err != nil {
			t.Fatal(err)
		}
		return c
	}
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	var wg sync.WaitGroup
	errs := make(chan error, 4)
	for i := 1; i <= 2; i++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			c := newClient("d"+string(rune('0'+i)), client.MemStorage())
			defer c.Abort()
			a, err := agent.New(agent.Config{Client: c, Trainer: &agent.NativeTrainer{}, Data: data(i), Seed: uint64(i)})
			if err != nil {
				errs <- err
				return
			}
			t, err := c.NextTask(ctx, 0)
			if err == nil {
				_, err = a.RunRound(ctx, t)
			}
			if err != nil {
				errs <- err
			}
		}()
	}
	// Device 3: dies after its second save (state for stage 2), then restarts.
	state := client.MemStorage()
	crashCtx, crash := context.WithCancel(ctx)
	st := &crashAfterSave{Storage: state, n: 2, cancel: crash}
	c3 := newClient("d3", st)
	a3, _ := agent.New(agent.Config{Client: c3, Trainer: &agent.NativeTrainer{}, Data: data(3), Seed: 3, State: st})
	task, err := c3.NextTask(ctx, 0)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := a3.RunRound(crashCtx, task); err == nil {
		t.Fatal("the crashed run did not fail")
	}
	c3.Abort()
	if _, err := state.Get("agent-secagg-1"); err != nil {
		t.Fatalf("no SecAgg state saved before the crash: %v", err)
	}
	// The new process: same state folder, new client, new trainer.
	c3 = newClient("d3", state)
	defer c3.Abort()
	a3, err = agent.New(agent.Config{Client: c3, Trainer: &agent.NativeTrainer{}, Data: data(3), Seed: 3, State: state})
	if err != nil {
		t.Fatal(err)
	}
	task, err = c3.NextTask(ctx, 0)
	if err != nil {
		t.Fatal(err)
	}
	res, err := a3.RunRound(ctx, task)
	if err != nil {
		t.Fatalf("resumed device: %v", err)
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Error(err)
	}
	var ev relay.RoundEvent
	select {
	case ev = <-events:
	case <-ctx.Done():
		t.Fatal("round did not end")
	}
	if !ev.Committed || ev.Reported != 3 || !res.Committed {
		t.Fatalf("round %+v, resumed device %+v: want committed with 3 reports", ev, res)
	}
	if _, err := state.Get("agent-secagg-1"); err == nil {
		t.Error("SecAgg state not cleared after the round")
	}
}

func mustSpec(t *testing.T) nn.Spec {
	s, err := nn.ParseSpec([]byte(spec))
	if err != nil {
		t.Fatal(err)
	}
	return s
}
