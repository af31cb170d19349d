package relay_test

import (
	"bytes"
	"context"
	"errors"
	"testing"
	"time"

	"github.com/murmur-fl/murmur/sync/client"
	"github.com/murmur-fl/murmur/sync/relay"
)

// TestClientRestartResumes: an application killed mid-download and
// mid-upload restarts with the same state directory and continues both
// from where they stopped, without re-sending acknowledged bytes.
func TestClientRestartResumes(t *testing.T) {
	const dim = 128 << 10 // 512 KiB
	const chunk = 16 << 10
	h := startRelay(t, relay.Config{InitialParams: fill(dim, 2), ChunkSize: chunk,
		Round: relay.RoundConfig{Goal: 1, MinReports: 1, OverSelect: 1, Deadline: time.Minute}})
	dir := t.TempDir()
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	var victim *client.Client
	abortAt := int64(0)
	open := func() *client.Client {
		st, err := client.DirStorage(dir)
		if err != nil {
			t.Fatal(err)
		}
		return h.client("phone", func(cfg *client.Config) {
			cfg.State = st
			cfg.ChunkSize = chunk
			cfg.OnProgress = func(p client.Progress) {
				if abortAt > 0 && p.Done >= abortAt && p.Done < p.Total {
					abortAt = 0
					victim.Abort() // synchronously: no more chunk may land
				}
			}
		})
	}
	victim = open()
	task, err := victim.NextTask(ctx, 0)
	if err != nil {
		t.Fatal(err)
	}
	abortAt = dim * 4 / 2
	if _, err := victim.Download(ctx, task.ModelHash); !errors.Is(err, client.ErrClosed) {
		t.Fatalf("download on a killed client: %v", err)
	}
	c := open()
	task2, err := c.NextTask(ctx, 0)
	if err != nil || task2.UploadID != task.UploadID {
		t.Fatalf("task after restart: %+v %v", task2, err)
	}
	blob, err := c.Download(ctx, task2.ModelHash)
	if err != nil || !bytes.Equal(blob, relay.EncodeFloat32(fill(dim, 2))) {
		t.Fatalf("resumed download: %v", err)
	}
	if got := c.Stats().BytesFetched; got > dim*4/2+2*chunk {
		t.Fatalf("restarted client fetched %d bytes of %d: did not resume", got, dim*4)
	}
	payload := relay.EncodeFloat32(fill(dim, 1))
	victim = c
	abortAt = dim * 4 / 2
	if err := c.Upload(ctx, task2, 5, payload); !errors.Is(err, client.ErrClosed) {
		t.Fatalf("upload on a killed client: %v", err)
	}
	c2 := open()
	task3, err := c2.NextTask(ctx, 0)
	if err != nil {
		t.Fatal(err)
	}
	saved, ex, ok := c2.SavedUpload(task3.UploadID)
	if !ok || ex != 5 || !bytes.Equal(saved, payload) {
		t.Fatalf("saved upload after restart: ok=%v examples=%d", ok, ex)
	}
	if err := c2.Upload(ctx, task3, ex, saved); err != nil {
		t.Fatal(err)
	}
	if sent := c2.Stats().BytesSent; sent > dim*4/2+chunk {
		t.Fatalf("restarted client sent %d bytes of %d: did not resume", sent, dim*4)
	}
	if _, _, ok := c2.SavedUpload(task3.UploadID); ok {
		t.Fatal("counted upload still in the state directory")
	}
	if ev := h.event(30 * time.Second); !ev.Committed || ev.Resumed != 1 {
		t.Fatalf("event %+v", ev)
	}
	if p := h.r.Model().Params; p[0] != 3 {
		t.Fatalf("model %v, want 3", p[0])
	}
}
