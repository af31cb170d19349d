package relay_test

import (
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"testing"
	"time"

	"github.com/murmur-fl/murmur/sync/relay"
)

// TestJSClient runs the GOOS=js build of sync/client under Node (the same
// syscall/js WebSocket path browsers take, token in the subprotocol)
// against this relay for one round.
func TestJSClient(t *testing.T) {
	if testing.Short() {
		t.Skip("builds a js/wasm test binary; skipped with -short")
	}
	node, err := exec.LookPath("node")
	if err != nil {
		t.Skip("node not installed: cannot run the js/wasm client test")
	}
	h := startRelay(t, relay.Config{InitialParams: fill(4096, 0), ChunkSize: 2048,
		Round: relay.RoundConfig{Goal: 1, MinReports: 1, OverSelect: 1, Deadline: time.Minute}})
	bin := filepath.Join(t.TempDir(), "jstest.wasm")
	build := exec.Command("go", "test", "-c", "-o", bin, "../client/internal/jstest")
	build.Env = append(os.Environ(), "GOOS=js", "GOARCH=wasm")
	if out, err := build.CombinedOutput(); err != nil {
		t.Fatalf("building the js test: %v\n%s", err, out)
	}
	cmd := exec.Command(node, "--experimental-websocket", filepath.Join(runtime.GOROOT(), "lib", "wasm", "wasm_exec_node.js"), bin, "-test.v")
	cmd.Env = append(os.Environ(), "MURMUR_RELAY_URL="+h.url(), "MURMUR_TOKEN="+secret.Issue("browser"), "MURMUR_DEVICE=browser")
	out, err := cmd.CombinedOutput()
	if err != nil {
		t.Fatalf("js client: %v\n%s", err, out)
	}
	ev := h.event(10 * time.Second)
	if !ev.Committed || h.r.Model().Params[0] != 1 {
		t.Fatalf("round %+v, model %v", ev, h.r.Model().Params[0])
	}
	t.Logf("%s", out)
}
