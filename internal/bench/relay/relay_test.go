package relay

import (
	"context"
	"io"
	"os"
	"strings"
	"testing"

	"github.com/murmur-fl/murmur/internal/bench"
)

func TestQuick(t *testing.T) {
	s, ok := bench.Lookup("relay")
	if !ok {
		t.Fatal("suite relay not registered")
	}
	var rows []bench.Result
	if err := s.Run(context.Background(), bench.Config{Quick: true, Log: io.Discard}, func(r bench.Result) { rows = append(rows, r) }); err != nil {
		t.Fatal(err)
	}
	want := []string{"relay/sessions/rss-per-session", "relay/aggregate/mean", "relay/aggregate/median",
		"relay/aggregate/trimmed", "relay/round/updates-per-s", "relay/resume/latency"}
	got := map[string]bench.Result{}
	for _, r := range rows {
		got[r.Bench] = r
	}
	for _, name := range want {
		r, ok := got[name]
		if !ok {
			t.Errorf("row %s missing", name)
			continue
		}
		if !(r.Value > 0) || r.Unit == "" || !strings.HasPrefix(r.Bench, "relay/") {
			t.Errorf("row %s: value %v unit %q", name, r.Value, r.Unit)
		}
	}
}

// TestFull prints the full suite's table (until cmd/murmur wires it):
// MURMUR_BENCH=1 go test -run TestFull -v ./internal/bench/relay
func TestFull(t *testing.T) {
	if os.Getenv("MURMUR_BENCH") != "1" {
		t.Skip("full relay benchmark: set MURMUR_BENCH=1")
	}
	s, _ := bench.Lookup("relay")
	var rows []bench.Result
	if err := s.Run(context.Background(), bench.Config{Log: os.Stderr}, func(r bench.Result) { rows = append(rows, r) }); err != nil {
		t.Fatal(err)
	}
	var sb strings.Builder
	bench.WriteTable(&sb, rows)
	for _, r := range rows {
		b, _ := r.MarshalJSON()
		sb.WriteString(string(b) + "\n")
	}
	t.Log("\n" + sb.String())
}
