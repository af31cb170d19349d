package progress

import (
	"bytes"
	"strings"
	"testing"
	"time"
)

func TestRender(t *testing.T) {
	s := Render("train", 5, 10, 3*time.Second, "loss 0.5")
	for _, want := range []string{"train", " 50%", "5/10", "3s", "loss 0.5"} {
		if !strings.Contains(s, want) {
			t.Errorf("Render = %q, missing %q", s, want)
		}
	}
	if got := strings.Count(Render("x", 20, 10, 0, ""), "█"); got != 30 {
		t.Errorf("over-full bar has %d filled cells, want 30 (clamped)", got)
	}
}

func TestQuietWhenNotTerminal(t *testing.T) {
	var buf bytes.Buffer
	b := New(&buf, "x", 3)
	b.Add(1)
	b.Add(2)
	b.Finish()
	if buf.Len() != 0 {
		t.Fatalf("bar wrote %q to a non-terminal", buf.String())
	}
	if b.Done() != 3 {
		t.Fatalf("Done = %d, want 3", b.Done())
	}
}
