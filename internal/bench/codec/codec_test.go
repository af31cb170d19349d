package codec

import (
	"context"
	"strings"
	"testing"

	"github.com/murmur-fl/murmur/internal/bench"
)

func TestQuickRun(t *testing.T) {
	rs, err := bench.RunQuick(context.Background(), "codec")
	if err != nil {
		t.Fatal(err)
	}
	if len(rs) < 30 {
		t.Fatalf("only %d rows", len(rs))
	}
	seen := map[string]bool{}
	for _, r := range rs {
		if !strings.HasPrefix(r.Bench, "codec/cnn.") || !(r.Value > 0) {
			t.Errorf("bad row %+v", r)
		}
		seen[r.Bench] = true
	}
	for _, want := range []string{"codec/cnn.topk1%-q4/ratio", "codec/cnn.secure-b8-sub10%/encode", "codec/cnn.dl-delta-int8-zstd/decode"} {
		if !seen[want] {
			t.Errorf("missing row %s", want)
		}
	}
}
