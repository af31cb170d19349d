package secagg_test

import (
	"crypto/rand"
	"fmt"

	"github.com/murmur-fl/murmur/secagg"
)

// A whole round in one process: the loop in the middle is what a relay
// does, with a network in between and a deadline per stage.
func Example() {
	k, t := secagg.DefaultGraph(4)
	p := secagg.Params{RoundID: 42, N: 4, Threshold: t, Degree: k, ModBits: 20, Len: 3}
	srv, _ := secagg.NewServer(p)
	clients := map[secagg.ClientID]*secagg.Client{}
	outbox := map[secagg.ClientID][]byte{}
	for id := secagg.ClientID(1); id <= 4; id++ {
		in := []uint64{uint64(id), 10 * uint64(id), 100}
		clients[id], _ = secagg.NewClient(p, id, in, rand.Reader)
		outbox[id] = clients[id].Start()
	}
	for srv.Stage() < secagg.StageDone {
		for id, msg := range outbox {
			if err := srv.Handle(id, msg); err != nil {
				fmt.Println("rejected:", err)
			}
		}
		inbox, err := srv.Advance() // the stage's deadline
		if err != nil {
			fmt.Println("aborted:", err)
			return
		}
		outbox = map[secagg.ClientID][]byte{}
		for id, msg := range inbox {
			reply, err := clients[id].Handle(msg)
			if err != nil {
				fmt.Println("client", id, err)
				continue
			}
			outbox[id] = reply
		}
	}
	sum, survivors, _ := srv.Result()
	fmt.Println(sum, survivors)
	// Output: [10 100 400] [1 2 3 4]
}
