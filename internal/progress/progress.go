// Package progress draws a one-line progress bar on a terminal and stays
// quiet otherwise, so logs and pipes get no carriage-return noise.
package progress

import (
	"fmt"
	"io"
	"os"
	"strings"
	"sync"
	"time"
)

// IsTerminal reports whether w is a character device (a terminal).
func IsTerminal(w io.Writer) bool {
	f, ok := w.(*os.File)
	if !ok {
		return false
	}
	st, err := f.Stat()
	return err == nil && st.Mode()&os.ModeCharDevice != 0
}

// Bar is a progress bar for work of a known total. The zero value is not
// usable; call New. A Bar on a non-terminal writer draws nothing.
type Bar struct {
	mu      sync.Mutex
	w       io.Writer
	label   string
	total   int64
	done    int64
	suffix  string
	start   time.Time
	last    time.Time
	enabled bool
}

// New returns a bar writing to w (usually os.Stderr). It draws only when w
// is a terminal.
func New(w io.Writer, label string, total int64) *Bar {
	return &Bar{w: w, label: label, total: total, start: time.Now(), enabled: IsTerminal(w)}
}

// Add advances the bar by n units.
func (b *Bar) Add(n int64) { b.Set(b.Done() + n) }

// Done returns the units completed so far.
func (b *Bar) Done() int64 {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.done
}

// Set moves the bar to done units.
func (b *Bar) Set(done int64) {
	b.mu.Lock()
	defer b.mu.Unlock()
	b.done = done
	b.draw(false)
}

// Suffix sets a short status shown after the bar (e.g. "loss 0.41").
func (b *Bar) Suffix(s string) {
	b.mu.Lock()
	defer b.mu.Unlock()
	b.suffix = s
	b.draw(false)
}

// Finish draws the final state and ends the line.
func (b *Bar) Finish() {
	b.mu.Lock()
	defer b.mu.Unlock()
	b.draw(true)
	if b.enabled {
		fmt.Fprintln(b.w)
	}
}

// Render returns the bar's text for done out of total; exported for tests.
func Render(label string, done, total int64, elapsed time.Duration, suffix string) string {
	const width = 30
	frac := 0.0
	if total > 0 {
		frac = float64(done) / float64(total)
	}
	frac = min(max(frac, 0), 1)
	fill := int(frac * width)
	bar := strings.Repeat("█", fill) + strings.Repeat("░", width-fill)
	s := fmt.Sprintf("%s %s %3.0f%% %d/%d %s", label, bar, frac*100, done, total, elapsed.Round(time.Second))
	if suffix != "" {
		s += " " + suffix
	}
	return s
}

func (b *Bar) draw(force bool) {
	if !b.enabled {
		return
	}
	now := time.Now()
	if !force && now.Sub(b.last) < 100*time.Millisecond && b.done < b.total {
		return
	}
	b.last = now
	fmt.Fprintf(b.w, "\r\033[K%s", Render(b.label, b.done, b.total, now.Sub(b.start), b.suffix))
}
