package codec

import (
	"context"
	"fmt"
	"io"
	"os"
	"strings"
	"testing"

	"github.com/murmur-fl/murmur/internal/bench"
)

func TestQuickRun(t *testing.T) {
	s, ok := bench.Lookup("codec")
	if !ok {
		t.Fatal("codec suite not registered")
	}
	var rs []bench.Result
	if err := s.Run(context.Background(), bench.Config{Quick: true, Log: io.Discard}, func(r bench.Result) { rs = append(rs, r) }); err != nil {
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

// TestFullTable prints the full suite's table (what `murmur bench codec`
// prints once cmd/murmur links this suite).
func TestFullTable(t *testing.T) {
	if os.Getenv("MURMUR_BENCH_CODEC") == "" {
		t.Skip("set MURMUR_BENCH_CODEC=1 to run the full codec benchmark (about a minute)")
	}
	s, _ := bench.Lookup("codec")
	var rs []bench.Result
	if err := s.Run(context.Background(), bench.Config{Log: os.Stderr}, func(r bench.Result) { rs = append(rs, r) }); err != nil {
		t.Fatal(err)
	}
	var b strings.Builder
	bench.WriteTable(&b, rs)
	for _, r := range rs {
		if strings.HasSuffix(r.Bench, "/ratio") {
			fmt.Fprintf(&b, "%-44s rel_err %.4f  bytes %v\n", r.Bench, r.Extra["rel_err"], r.Extra["bytes"])
		}
	}
	t.Log("\n" + b.String())
}
