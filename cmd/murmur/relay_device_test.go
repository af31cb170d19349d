package main

import (
	"bufio"
	"context"
	"encoding/json"
	"fmt"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/murmur-fl/murmur/internal/corebuild"
	"github.com/murmur-fl/murmur/runtime/data"
)

// TestRelayAndDevicesProcesses runs the real binaries: `murmur relay` and
// three `murmur device` processes joining it by URL, and checks through
// the dashboard API that rounds commit and the model improves.
func TestRelayAndDevicesProcesses(t *testing.T) {
	if _, err := data.FashionMNISTDir(); err != nil {
		t.Skipf("Fashion-MNIST not installed (make test installs it): %v", err)
	}
	dir := t.TempDir()
	bin := filepath.Join(dir, "murmur")
	if out, err := exec.Command("go", "build", "-o", bin, ".").CombinedOutput(); err != nil {
		t.Fatalf("build: %v\n%s", err, out)
	}
	core := filepath.Join(dir, "core.wasm")
	root, _ := filepath.Abs("../..")
	if err := corebuild.Build(context.Background(), root, core); err != nil {
		t.Fatal(err)
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := ln.Addr().String()
	ln.Close()
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	defer cancel()
	relayCmd := exec.CommandContext(ctx, bin, "relay", "--addr", addr, "--data", filepath.Join(dir, "state"), "--secret", "s3",
		"--core", core, "--per-round", "3", "--local-steps", "5", "--eval-limit", "500", "--issue", "3")
	stdout, _ := relayCmd.StdoutPipe()
	relayCmd.Stderr = os.Stderr
	if err := relayCmd.Start(); err != nil {
		t.Fatal(err)
	}
	defer func() { relayCmd.Process.Signal(os.Interrupt); relayCmd.Wait() }()
	tokens := map[string]string{}
	sc := bufio.NewScanner(stdout)
	for len(tokens) < 3 && sc.Scan() {
		id, tok, _ := strings.Cut(sc.Text(), " ")
		tokens[id] = tok
	}
	for i := 1; i <= 3; i++ {
		id := fmt.Sprintf("device-%d", i)
		d := exec.CommandContext(ctx, bin, "device", "--url", "ws://"+addr+"/ws", "--id", id, "--token", tokens[id],
			"--shard", fmt.Sprint(i), "--of", "3", "--state", filepath.Join(dir, id))
		if err := d.Start(); err != nil {
			t.Fatal(err)
		}
		defer func() { d.Process.Signal(os.Interrupt); d.Wait() }()
	}
	type snapshot struct {
		CoreHash string `json:"core_hash"`
		Status   struct {
			ByPlatform map[string]int `json:"by_platform"`
		} `json:"status"`
		Rounds []struct {
			Committed    bool    `json:"committed"`
			TestAccuracy float64 `json:"test_accuracy"`
		} `json:"rounds"`
	}
	var s snapshot
	for ctx.Err() == nil {
		time.Sleep(500 * time.Millisecond)
		res, err := http.Get("http://" + addr + "/api/dashboard")
		if err != nil {
			continue
		}
		s = snapshot{}
		json.NewDecoder(res.Body).Decode(&s)
		res.Body.Close()
		if len(s.Rounds) >= 6 {
			break
		}
	}
	if len(s.Rounds) < 6 {
		t.Fatalf("only %d rounds within the time limit", len(s.Rounds))
	}
	// Accuracy is noisy round to round (5 local steps on non-IID shards):
	// compare the first round with the best of the last three.
	first, best := s.Rounds[0], 0.0
	for _, r := range s.Rounds[len(s.Rounds)-3:] {
		if !r.Committed {
			t.Fatalf("round not committed: %+v", s.Rounds)
		}
		best = max(best, r.TestAccuracy)
	}
	if !(best > first.TestAccuracy+0.1) || best < 0.5 {
		t.Fatalf("did not learn: rounds %+v", s.Rounds)
	}
	if len(s.CoreHash) != 64 || s.Status.ByPlatform["linux/amd64"]+s.Status.ByPlatform["linux/arm64"] == 0 {
		t.Fatalf("dashboard: core %q, platforms %v", s.CoreHash, s.Status.ByPlatform)
	}
}
