package relay_test

import (
	"context"
	"sync"
	"testing"
	"time"

	"github.com/murmur-fl/murmur/sync/client"
	"github.com/murmur-fl/murmur/sync/relay"
)

// twoStages is a minimal StageServer: every participant speaks in stage 1;
// the relay then sends each one "go" for stage 2, the input stage, whose
// message is the upload.
type twoStages struct {
	mu  sync.Mutex
	dim int
	in  int
}

func (s *twoStages) InputStage() uint8 { return 2 }
func (s *twoStages) Collect(stage uint8, from uint32, payload []byte, examples uint64) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if stage == 2 {
		s.in++
	}
	return nil
}
func (s *twoStages) Close(stage uint8) ([]relay.Routed, uint8, error) {
	if stage == 1 {
		return []relay.Routed{{To: 0, Stage: 2, Payload: []byte("go")}}, 2, nil
	}
	return nil, 0, nil
}
func (s *twoStages) Result() ([]float32, float64, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return make([]float32, s.dim), float64(s.in), nil
}

// TestStageMessageResentOnReconnect: the message that opens a stage reaches
// a device whose process then dies before using it (it was written to the
// old link); the device's next process resumes the session and must get it
// again, or it would wait until the deadline.
func TestStageMessageResentOnReconnect(t *testing.T) {
	const dim = 8
	h := startRelay(t, relay.Config{InitialParams: fill(dim, 0), Grace: 10 * time.Second,
		Secure: func(_ uint64, _, dim int, _ relay.Plan) (relay.StageServer, error) { return &twoStages{dim: dim}, nil },
		Round:  relay.RoundConfig{Goal: 1, MinReports: 1, OverSelect: 1, Deadline: 20 * time.Second}})
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	state := client.MemStorage()
	c := h.client("a", func(cfg *client.Config) { cfg.State = state })
	task, err := c.NextTask(ctx, 0)
	if err != nil {
		t.Fatal(err)
	}
	if err := c.SendStage(ctx, task.Round, 1, 0, []byte("hello")); err != nil {
		t.Fatal(err)
	}
	// Stage 2 opens and its message goes out on this link.
	for h.r.Status().SecureStage != 2 {
		time.Sleep(5 * time.Millisecond)
	}
	time.Sleep(100 * time.Millisecond)
	c.Abort() // the process dies with the message unread in its inbox

	c = h.client("a", func(cfg *client.Config) { cfg.State = state })
	m, err := c.RecvStage(ctx, task.Round, 2)
	if err != nil || string(m.Payload) != "go" {
		t.Fatalf("the stage 2 message after a restart: %v %v", m, err)
	}
	if err := c.Upload(ctx, task, 1, relay.EncodeFloat32(fill(dim, 0))); err != nil {
		t.Fatal(err)
	}
	if e := h.event(20 * time.Second); !e.Committed || e.Reported != 1 {
		t.Fatalf("round: %+v", e)
	}
}
