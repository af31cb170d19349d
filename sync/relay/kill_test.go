package relay_test

import (
	"bufio"
	"context"
	"crypto/sha256"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/murmur-fl/murmur/sync/client"
	"github.com/murmur-fl/murmur/sync/relay"
	"github.com/murmur-fl/murmur/sync/wire"
)

type proc struct {
	cmd    *exec.Cmd
	addr   string
	events chan relay.RoundEvent
}

func buildRelay(t *testing.T) string {
	t.Helper()
	bin := filepath.Join(t.TempDir(), "relaymain")
	out, err := exec.Command("go", "build", "-o", bin, "./internal/relaymain").CombinedOutput()
	if err != nil {
		t.Fatalf("go build: %v\n%s", err, out)
	}
	return bin
}

func startProc(t *testing.T, bin string, args ...string) *proc {
	t.Helper()
	cmd := exec.Command(bin, args...)
	stdout, _ := cmd.StdoutPipe()
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { cmd.Process.Kill(); cmd.Wait() })
	p := &proc{cmd: cmd, events: make(chan relay.RoundEvent, 100)}
	sc := bufio.NewScanner(stdout)
	for p.addr == "" {
		if !sc.Scan() {
			t.Fatal("relay exited before listening")
		}
		var e relay.RoundEvent
		if a, ok := strings.CutPrefix(sc.Text(), "listening "); ok {
			p.addr = a
		} else if json.Unmarshal(sc.Bytes(), &e) == nil {
			p.events <- e // recovery events come before the listener
		}
	}
	go func() {
		for sc.Scan() {
			var e relay.RoundEvent
			if json.Unmarshal(sc.Bytes(), &e) == nil {
				p.events <- e
			}
		}
		close(p.events)
	}()
	return p
}

func (p *proc) event(t *testing.T) relay.RoundEvent {
	t.Helper()
	select {
	case e, ok := <-p.events:
		if !ok {
			t.Fatal("relay exited")
		}
		return e
	case <-time.After(30 * time.Second):
		t.Fatal("no round event")
	}
	return relay.RoundEvent{}
}

func latestModel(t *testing.T, addr string) (version uint64, hash string) {
	t.Helper()
	resp, err := http.Get("http://" + addr + "/v1/model")
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var m struct {
		Version uint64 `json:"version"`
		Hash    string `json:"hash"`
	}
	b, _ := io.ReadAll(resp.Body)
	if err := json.Unmarshal(b, &m); err != nil {
		t.Fatalf("/v1/model: %v %s", err, b)
	}
	return m.Version, m.Hash
}

// TestSIGKILL kills the real relay process mid-upload and mid-round:
// after a restart on the same store the model is the last committed one and
// the open round continues (the device resumes its upload from the durable
// offset); killed again and restarted after the deadline, the round is
// abandoned explicitly and the next one starts.
func TestSIGKILL(t *testing.T) {
	if testing.Short() {
		t.Skip("builds and runs the relay binary; skipped with -short")
	}
	bin := buildRelay(t)
	data := filepath.Join(t.TempDir(), "relay.db")
	const dim = 64 << 10 // 256 KiB updates, 4 KiB chunks
	// A long deadline while we kill and restart under load; a short one for
	// the round that must expire while the relay is down.
	args := []string{"-data", data, "-dim", fmt.Sprint(dim), "-deadline", "60s"}
	short := []string{"-data", data, "-dim", fmt.Sprint(dim), "-deadline", "2s"}
	p := startProc(t, bin, args...)
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	newClient := func(addr string, st client.Storage, onProgress func(client.Progress)) *client.Client {
		c, err := client.New(client.Config{URL: "ws://" + addr + "/ws", Token: secret.Issue("d1"), DeviceID: "d1",
			State: st, ChunkSize: 4096, Logger: quietLogger(), MinBackoff: 10 * time.Millisecond, MaxBackoff: 100 * time.Millisecond,
			OnProgress: onProgress})
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(c.Abort)
		return c
	}
	// Round 1 commits normally.
	c := newClient(p.addr, client.MemStorage(), nil)
	t1, err := c.NextTask(ctx, 0)
	if err != nil {
		t.Fatal(err)
	}
	want := fill(dim, 0.5)
	if err := c.Upload(ctx, t1, 1, relay.EncodeFloat32(want)); err != nil {
		t.Fatal(err)
	}
	if e := p.event(t); !e.Committed {
		t.Fatalf("round 1: %+v", e)
	}
	wantHash := fmt.Sprintf("%x", sha256.Sum256(relay.EncodeFloat32(want)))
	c.Abort()

	// Round 2: SIGKILL when about half of the update is acknowledged.
	st := client.MemStorage()
	killed := make(chan struct{})
	var killedAt int64
	c = newClient(p.addr, st, func(pr client.Progress) {
		if pr.Stage == "upload" && pr.Done >= pr.Total/2 && killedAt == 0 {
			killedAt = pr.Done
			p.cmd.Process.Signal(syscall.SIGKILL)
			close(killed)
		}
	})
	t2, err := c.NextTask(ctx, t1.Round)
	if err != nil {
		t.Fatal(err)
	}
	upCtx, upCancel := context.WithCancel(ctx)
	upErr := make(chan error, 1)
	second := fill(dim, 0.25)
	go func() { upErr <- c.Upload(upCtx, t2, 1, relay.EncodeFloat32(second)) }()
	<-killed
	p.cmd.Wait()
	upCancel()
	<-upErr
	c.Abort()

	// Restart on the same store and address: the model is round 1's, and
	// round 2 continues from the durable offset.
	p = startProc(t, bin, append(args, "-addr", p.addr)...)
	if v, h := latestModel(t, p.addr); v != 2 || h != wantHash {
		t.Fatalf("after SIGKILL: model v%d %s, want v2 %s", v, h, wantHash)
	}
	c = newClient(p.addr, st, nil)
	t2b, err := c.NextTask(ctx, t1.Round)
	if err != nil || t2b.Round != t2.Round || t2b.UploadID != t2.UploadID {
		t.Fatalf("task after restart: %+v %v (want round %d)", t2b, err, t2.Round)
	}
	if err := c.Upload(ctx, t2b, 1, relay.EncodeFloat32(second)); err != nil {
		t.Fatal(err)
	}
	if sent := c.Stats().BytesSent; sent > int64(dim*4)-killedAt+4096 {
		t.Fatalf("resumed upload sent %d bytes; %d were acknowledged before the kill", sent, killedAt)
	}
	if e := p.event(t); !e.Committed || e.Round != t2.Round {
		t.Fatalf("round 2 after restart: %+v", e)
	}
	for i := range want {
		want[i] += second[i]
	}
	wantHash = fmt.Sprintf("%x", sha256.Sum256(relay.EncodeFloat32(want)))
	if v, h := latestModel(t, p.addr); v != 3 || h != wantHash {
		t.Fatalf("after round 2: v%d %s", v, h)
	}

	// Round 3: kill mid-round, restart after the deadline: abandoned explicitly.
	c.Abort() // no device: round 3 cannot start on this process
	p.cmd.Process.Signal(syscall.SIGKILL)
	p.cmd.Wait()
	p = startProc(t, bin, append(short, "-addr", p.addr)...)
	c = newClient(p.addr, client.MemStorage(), nil)
	t3, err := c.NextTask(ctx, t2.Round)
	if err != nil {
		t.Fatal(err)
	}
	c.Abort()
	p.cmd.Process.Signal(syscall.SIGKILL)
	p.cmd.Wait()
	time.Sleep(time.Until(time.UnixMilli(t3.DeadlineMs)) + 100*time.Millisecond)
	p = startProc(t, bin, append(args, "-addr", p.addr)...)
	e := p.event(t)
	if e.Committed || e.Round != t3.Round || !strings.Contains(e.Reason, "abandoned after restart") {
		t.Fatalf("round 3 after restart past its deadline: %+v", e)
	}
	if v, h := latestModel(t, p.addr); v != 3 || h != wantHash {
		t.Fatalf("after abandon: v%d %s", v, h)
	}
	// The next round gets a new number and a late upload for round 3 is refused.
	c = newClient(p.addr, client.MemStorage(), nil)
	t4, err := c.NextTask(ctx, t3.Round)
	if err != nil || t4.Round <= t3.Round {
		t.Fatalf("next round: %+v %v", t4, err)
	}
	err = c.Upload(ctx, t3, 1, relay.EncodeFloat32(second))
	var we *wire.Error
	if !errors.As(err, &we) || we.Code != wire.CodeWrongRound {
		t.Fatalf("upload for the abandoned round: %v", err)
	}
}
