package relay_test

import (
	"context"
	"net"
	"path/filepath"
	"testing"
	"time"

	"github.com/murmur-fl/murmur/sync/client"
	"github.com/murmur-fl/murmur/sync/relay"
)

// TestRecoveredRoundWaitsForParticipants: after a relay restart in the
// middle of a round, a participant that comes back within the grace period
// (counted from the restart) still reports and the round commits; it is
// not written off as vanished before it had a chance to reconnect.
func TestRecoveredRoundWaitsForParticipants(t *testing.T) {
	const dim = 4
	path := filepath.Join(t.TempDir(), "relay.db")
	events := make(chan relay.RoundEvent, 4)
	open := func(ln net.Listener) *relay.Relay {
		st, err := relay.OpenBolt(path)
		if err != nil {
			t.Fatal(err)
		}
		r, err := relay.New(relay.Config{Store: st, Auth: secret, Logger: quietLogger(), InitialParams: fill(dim, 1),
			Grace: 3 * time.Second, OnRound: func(e relay.RoundEvent) { events <- e },
			Round: relay.RoundConfig{Goal: 1, MinReports: 1, OverSelect: 1, Deadline: 20 * time.Second}})
		if err != nil {
			t.Fatal(err)
		}
		go r.Serve(ln)
		return r
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := ln.Addr().String()
	r := open(ln)
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	state := client.MemStorage()
	newClient := func() *client.Client {
		c, err := client.New(client.Config{URL: "ws://" + addr + "/ws", Token: secret.Issue("a"), DeviceID: "a", State: state,
			Logger: quietLogger(), MinBackoff: 5 * time.Millisecond, MaxBackoff: 100 * time.Millisecond})
		if err != nil {
			t.Fatal(err)
		}
		return c
	}
	c := newClient()
	task, err := c.NextTask(ctx, 0)
	if err != nil {
		t.Fatal(err)
	}
	c.Abort()
	r.Shutdown(ctx)

	if ln, err = net.Listen("tcp", addr); err != nil {
		t.Fatal(err)
	}
	r = open(ln)
	defer r.Shutdown(context.Background())
	time.Sleep(700 * time.Millisecond) // several vanish checks pass before the device is back
	c = newClient()
	defer c.Abort()
	if err := c.Upload(ctx, task, 1, relay.EncodeFloat32(fill(dim, 0.5))); err != nil {
		t.Fatal(err)
	}
	select {
	case e := <-events:
		if !e.Committed || e.Reported != 1 {
			t.Fatalf("recovered round: %+v", e)
		}
	case <-ctx.Done():
		t.Fatal("the recovered round did not end")
	}
}
