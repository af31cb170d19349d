package client

import (
	"context"
	"encoding/json"
	"errors"
	"hash/crc32"

	"github.com/murmur-fl/murmur/sync/wire"
)

// pendingUpload is what State keeps for an upload until the relay counts it.
type pendingUpload struct {
	Round    uint64    `json:"round"`
	UploadID wire.ID16 `json:"upload_id"`
	Examples uint64    `json:"examples"`
	Size     uint64    `json:"size"`
	CRC      uint32    `json:"crc"`
}

// SavedUpload returns the payload of an upload that State still holds
// (an application restarted mid-upload resumes it instead of retraining).
func (c *Client) SavedUpload(id wire.ID16) (payload []byte, examples uint64, ok bool) {
	mb, err := c.cfg.State.Get("up-" + id.String() + ".json")
	if err != nil {
		return nil, 0, false
	}
	var p pendingUpload
	if json.Unmarshal(mb, &p) != nil {
		return nil, 0, false
	}
	b, err := c.cfg.State.Get("up-" + id.String() + ".bin")
	if err != nil || uint64(len(b)) != p.Size || crc32.Checksum(b, castagnoli) != p.CRC {
		return nil, 0, false
	}
	return b, p.Examples, true
}

// Upload sends the device's update for the task's round, resuming from the
// relay's durable offset after any cut, and returns once the relay has
// verified and counted it. Request-level rejections (late, duplicate with a
// different payload, bad update, ...) are returned as *wire.Error.
func (c *Client) Upload(ctx context.Context, t *wire.Task, examples uint64, payload []byte) error {
	id := t.UploadID
	p := pendingUpload{Round: t.Round, UploadID: id, Examples: examples, Size: uint64(len(payload)),
		CRC: crc32.Checksum(payload, castagnoli)}
	mb, _ := json.Marshal(p)
	if err := c.cfg.State.Put("up-"+id.String()+".bin", payload); err != nil {
		return err
	}
	if err := c.cfg.State.Put("up-"+id.String()+".json", mb); err != nil {
		return err
	}
	var acked uint64
	err := c.retrying(ctx, func(l *link) error {
		match := func(m wire.Message) bool {
			switch m := m.(type) {
			case *wire.UploadAck:
				return m.UploadID == id
			case *wire.Error:
				return m.Ref == id
			}
			return false
		}
		if err := c.send(ctx, l, &wire.UploadBegin{Round: t.Round, UploadID: id, Size: p.Size, CRC: p.CRC, Examples: examples}); err != nil {
			return err
		}
		for {
			m, err := c.await(ctx, l, match)
			if err != nil {
				return err
			}
			var off uint64
			switch m := m.(type) {
			case *wire.UploadAck:
				if m.Done {
					acked = p.Size
					c.progress(Progress{Stage: "upload", Round: t.Round, Done: int64(acked), Total: int64(p.Size)})
					return nil
				}
				off = m.Offset
				if off > acked {
					acked = off
					c.progress(Progress{Stage: "upload", Round: t.Round, Done: int64(acked), Total: int64(p.Size)})
				}
			case *wire.Error:
				switch m.Code {
				case wire.CodeStaleOffset, wire.CodeBadChecksum:
					off = m.Offset // resend from the relay's durable offset
				default:
					return m
				}
			}
			if off >= p.Size {
				continue // the relay is completing it; its final ack follows
			}
			end := min(off+uint64(c.cfg.ChunkSize), p.Size)
			data := payload[off:end]
			if err := c.send(ctx, l, &wire.UploadChunk{UploadID: id, Offset: off, CRC: crc32.Checksum(data, castagnoli), Data: data}); err != nil {
				return err
			}
			c.mu.Lock()
			c.stats.BytesSent += int64(len(data))
			c.mu.Unlock()
		}
	})
	var re *wire.Error
	if err == nil || (errors.As(err, &re) && re.Code != wire.CodeInternal) {
		// Counted, or refused for good: nothing left to resume.
		c.cfg.State.Delete("up-" + id.String() + ".bin")
		c.cfg.State.Delete("up-" + id.String() + ".json")
	}
	return err
}
