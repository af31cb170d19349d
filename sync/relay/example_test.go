package relay_test

import (
	"context"
	"fmt"
	"net"
	"time"

	"github.com/murmur-fl/murmur/sync/client"
	"github.com/murmur-fl/murmur/sync/relay"
)

// A relay and one device running a round over loopback.
func Example() {
	tokens := relay.HMACTokens{Secret: []byte("change me")}
	r, err := relay.New(relay.Config{
		Auth:          tokens,
		InitialParams: []float32{0, 0, 0, 0},
		Round:         relay.RoundConfig{Goal: 1, MinReports: 1, OverSelect: 1, Deadline: 10 * time.Second},
		Logger:        quietLogger(),
		OnCommit: func(round, version uint64, params []float32) {
			fmt.Println("round", round, "committed model version", version, params)
		},
	})
	if err != nil {
		panic(err)
	}
	ln, _ := net.Listen("tcp", "127.0.0.1:0")
	go r.Serve(ln)
	defer r.Shutdown(context.Background())

	c, _ := client.New(client.Config{URL: "ws://" + ln.Addr().String() + "/ws",
		Token: tokens.Issue("phone-1"), DeviceID: "phone-1", Logger: quietLogger()})
	defer c.Close()
	ctx := context.Background()
	task, _ := c.NextTask(ctx, 0)
	model, _ := c.Download(ctx, task.ModelHash)
	fmt.Println("downloaded", len(model), "bytes")
	// Train locally, then upload the delta (here: +1 on every parameter).
	delta := relay.EncodeFloat32([]float32{1, 1, 1, 1})
	if err := c.Upload(ctx, task, 32, delta); err != nil {
		panic(err)
	}
	end, _ := c.WaitRoundEnd(ctx, task.Round)
	fmt.Println("committed:", end.Committed)
	// Output:
	// downloaded 16 bytes
	// round 1 committed model version 2 [1 1 1 1]
	// committed: true
}
