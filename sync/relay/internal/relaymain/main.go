// Command relaymain is a minimal relay binary for tests that need a real
// process to kill (SIGKILL recovery); `murmur relay` is the real CLI.
// It prints one JSON line per round event on stdout and "listening <addr>"
// first.
package main

import (
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"log/slog"
	"net"
	"os"
	"os/signal"
	"syscall"
	"time"

	"github.com/murmur-fl/murmur/sync/relay"
)

func main() {
	addr := flag.String("addr", "127.0.0.1:0", "listen address")
	data := flag.String("data", "", "bbolt store path")
	secret := flag.String("secret", "test-secret", "HMAC token secret")
	dim := flag.Int("dim", 1024, "model size (initial params are zero)")
	goal := flag.Int("goal", 1, "reports wanted per round")
	deadline := flag.Duration("deadline", 10*time.Second, "round deadline")
	flag.Parse()
	st, err := relay.OpenBolt(*data)
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	out := json.NewEncoder(os.Stdout)
	r, err := relay.New(relay.Config{Store: st, Auth: relay.HMACTokens{Secret: []byte(*secret)},
		InitialParams: make([]float32, *dim), ChunkSize: 4096,
		Logger:  slog.New(slog.NewTextHandler(os.Stderr, nil)),
		Round:   relay.RoundConfig{Goal: *goal, MinReports: *goal, OverSelect: 1, Deadline: *deadline},
		OnRound: func(e relay.RoundEvent) { out.Encode(e) }})
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	ln, err := net.Listen("tcp", *addr)
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	fmt.Printf("listening %s\n", ln.Addr())
	stopped := make(chan struct{})
	go func() {
		defer close(stopped)
		sig := make(chan os.Signal, 1)
		signal.Notify(sig, syscall.SIGTERM, os.Interrupt)
		<-sig
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		r.Shutdown(ctx)
	}()
	if err := r.Serve(ln); err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	<-stopped
}
