//go:build js

package jstest

import (
	"context"
	"crypto/sha256"
	"os"
	"testing"
	"time"

	"github.com/murmur-fl/murmur/sync/client"
)

// TestRound joins the relay named by MURMUR_RELAY_URL with the browser
// build of the client (syscall/js WebSocket), downloads the model, cuts the
// link once, and uploads an update.
func TestRound(t *testing.T) {
	url, token, id := os.Getenv("MURMUR_RELAY_URL"), os.Getenv("MURMUR_TOKEN"), os.Getenv("MURMUR_DEVICE")
	if url == "" {
		t.Skip("run by sync/relay TestJSClient, which sets MURMUR_RELAY_URL")
	}
	c, err := client.New(client.Config{URL: url, Token: token, DeviceID: id, MinBackoff: 10 * time.Millisecond, ChunkSize: 1024})
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	task, err := c.NextTask(ctx, 0)
	if err != nil {
		t.Fatal(err)
	}
	blob, err := c.Download(ctx, task.ModelHash)
	if err != nil || sha256.Sum256(blob) != task.ModelHash {
		t.Fatalf("download: %v", err)
	}
	c.Drop()
	up := make([]byte, len(blob))
	for i := 0; i+3 < len(up); i += 4 {
		up[i+2], up[i+3] = 0x80, 0x3f // float32 1.0 little-endian
	}
	if err := c.Upload(ctx, task, 1, up); err != nil {
		t.Fatalf("upload: %v", err)
	}
	end, err := c.WaitRoundEnd(ctx, task.Round)
	if err != nil || !end.Committed {
		t.Fatalf("round end: %+v %v", end, err)
	}
	if st := c.Stats(); st.Connects < 2 {
		t.Fatalf("expected a reconnect after Drop: %+v", st)
	}
}
