package relay

import (
	"context"
	"strings"
	"testing"

	"github.com/murmur-fl/murmur/internal/bench"
)

func TestQuick(t *testing.T) {
	rows, err := bench.RunQuick(context.Background(), "relay")
	if err != nil {
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
