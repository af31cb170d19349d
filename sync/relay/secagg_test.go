package relay_test

import (
	"context"
	"crypto/rand"
	"encoding/json"
	"math"
	mrand "math/rand/v2"
	"sync"
	"testing"
	"time"

	"github.com/murmur-fl/murmur/secagg"
	"github.com/murmur-fl/murmur/sync/client"
	"github.com/murmur-fl/murmur/sync/relay"
	"github.com/murmur-fl/murmur/sync/wire"
)

// secureDevice runs one device's side of a SecAgg+ round through the relay;
// dropAfter > 0 makes it vanish after sending that stage.
// flaky cuts the link after every message the device sends (it resumes).
func secureDevice(ctx context.Context, c *client.Client, delta []float32, examples uint64, dropAfter uint8, flaky bool) error {
	task, err := c.NextTask(ctx, 0)
	if err != nil {
		return err
	}
	var plan wire.Plan
	if err := json.Unmarshal(task.Plan, &plan); err != nil {
		return err
	}
	sp, enc, err := plan.SecAgg.Setup(task.Round, int(task.Participants), len(delta))
	if err != nil {
		return err
	}
	input, err := enc.Encode(nil, delta, examples, mrand.NewPCG(uint64(task.Index), 7))
	if err != nil {
		return err
	}
	sc, err := secagg.NewClient(sp, secagg.ClientID(task.Index), input, rand.Reader)
	if err != nil {
		return err
	}
	if err := c.SendStage(ctx, task.Round, 1, 0, sc.Start()); err != nil {
		return err
	}
	for stage := uint8(2); stage <= 5; stage++ {
		if dropAfter > 0 && stage > dropAfter {
			c.Abort()
			return nil
		}
		m, err := c.RecvStage(ctx, task.Round, stage)
		if err != nil {
			return err
		}
		reply, err := sc.Handle(m.Payload)
		if err != nil {
			return err
		}
		if stage == 3 {
			err = c.Upload(ctx, task, examples, reply)
		} else {
			err = c.SendStage(ctx, task.Round, stage, 0, reply)
		}
		if err != nil {
			return err
		}
		if flaky {
			c.Drop()
		}
	}
	end, err := c.WaitRoundEnd(ctx, task.Round)
	if err == nil && !end.Committed {
		return &wire.Error{Code: 0, Message: "round not committed: " + end.Reason}
	}
	return err
}

// TestSecAggRound runs real SecAgg+ (secagg/) through the relay's stage
// routing with one device dropping after the key-sharing stage and one
// whose link is cut after every message it sends (it resumes its session
// and gets the stage messages queued meanwhile): the
// committed model is the weighted mean of the survivors' updates, within
// the quantization step.
func TestSecAggRound(t *testing.T) {
	const n, dim = 6, 200
	plan := relay.Plan{SecAgg: &wire.SecAggPlan{Bits: 16, ClipNorm: 100, MaxWeight: 100}}
	h := startRelay(t, relay.Config{InitialParams: fill(dim, 0), Plan: plan, Secure: relay.SecAgg,
		Round: relay.RoundConfig{Goal: n, MinReports: 3, OverSelect: 1, Deadline: 4 * time.Second, StageTimeout: 2 * time.Second}})
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	var wg sync.WaitGroup
	errs := make(chan error, n)
	var sum [dim]float64
	var weight float64
	for i := 1; i <= n; i++ {
		delta := make([]float32, dim)
		for j := range delta {
			delta[j] = float32(i) + float32(j)/100
		}
		ex := uint64(10 * i)
		drop := uint8(0)
		if i == n {
			drop = 2 // shares keys, then vanishes before its masked input
		} else {
			for j := range delta {
				sum[j] += float64(ex) * float64(delta[j])
			}
			weight += float64(ex)
		}
		c := h.client(string(rune('a'+i)), nil)
		wg.Add(1)
		go func() {
			defer wg.Done()
			if err := secureDevice(ctx, c, delta, ex, drop, i == 1); err != nil {
				errs <- err
			}
		}()
	}
	ev := h.event(30 * time.Second)
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Error(err)
	}
	if !ev.Committed || ev.Reported != n-1 || ev.Dropped != 1 || ev.Resumed < 1 {
		t.Fatalf("event %+v", ev)
	}
	got := h.r.Model().Params
	for j := range got {
		want := sum[j] / weight
		if math.Abs(float64(got[j])-want) > 0.01 {
			t.Fatalf("coordinate %d: %v, want %v", j, got[j], want)
		}
	}
}
