package relay_test

import (
	"context"
	"fmt"
	"net"
	"testing"
	"time"

	"go.uber.org/goleak"

	"github.com/murmur-fl/murmur/sync/client"
	"github.com/murmur-fl/murmur/sync/relay"
)

// TestNoLeaks opens and closes 1,000 sessions (clean goodbyes, aborts,
// resumes) against a relay, shuts it down, and checks that no goroutine of
// the relay or the client is left.
func TestNoLeaks(t *testing.T) {
	defer goleak.VerifyNone(t, goleak.IgnoreCurrent())
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	r, err := relay.New(relay.Config{Auth: secret, InitialParams: fill(8, 0), Logger: quietLogger(),
		Round: relay.RoundConfig{Goal: 5, MinReports: 1, SelectWait: 50 * time.Millisecond, Deadline: 200 * time.Millisecond}})
	if err != nil {
		t.Fatal(err)
	}
	served := make(chan error, 1)
	go func() { served <- r.Serve(ln) }()
	url := "ws://" + ln.Addr().String() + "/ws"
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	state := client.MemStorage()
	for i := range 1000 {
		id := fmt.Sprintf("d%d", i%50)
		c, err := client.New(client.Config{URL: url, Token: secret.Issue(id), DeviceID: id, Logger: quietLogger(), State: state,
			MinBackoff: time.Millisecond, MaxBackoff: 10 * time.Millisecond})
		if err != nil {
			t.Fatal(err)
		}
		// Wait for the handshake through a request the relay answers.
		for c.Stats().Connects == 0 && ctx.Err() == nil {
			time.Sleep(100 * time.Microsecond)
		}
		if i%3 == 0 {
			c.Abort()
		} else {
			c.Close()
		}
	}
	sctx, scancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer scancel()
	if err := r.Shutdown(sctx); err != nil {
		t.Fatal(err)
	}
	if err := <-served; err != nil {
		t.Fatal(err)
	}
}
