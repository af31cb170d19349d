// Package bench is the registry and output format behind `murmur bench`.
//
// Each suite lives in its own package under internal/bench/<suite> and
// registers itself from init; cmd/murmur imports them all. A suite emits
// Results named "<suite>/<case>/<variant>" (see DESIGN.md); variants of one
// case measured in the same run are printed side by side with ratios.
package bench

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"maps"
	"math"
	"slices"
	"strings"
	"sync"
	"time"
)

// Result is one measurement.
type Result struct {
	Bench string  // "<suite>/<case>/<variant>"
	Value float64 // the measurement
	Unit  string  // "examples/s", "GFLOP/s", "ms", "x", "MB/s", "KiB", ...
	// Extra holds additional keys for the JSON line (n, d, batch, runs, min, max, ...).
	Extra map[string]any
}

// MarshalJSON writes the flat object DESIGN.md specifies:
// {"bench": ..., "value": ..., "unit": ..., <extra keys>}.
func (r Result) MarshalJSON() ([]byte, error) {
	m := make(map[string]any, len(r.Extra)+3)
	maps.Copy(m, r.Extra)
	m["bench"] = r.Bench
	m["value"] = r.Value
	m["unit"] = r.Unit
	return json.Marshal(m)
}

// Config is what every suite is given.
type Config struct {
	// Quick asks for a short run (smaller sizes, fewer repetitions), as used
	// by tests that check a suite still works.
	Quick bool
	// Log receives human-oriented progress lines; never nil.
	Log io.Writer
}

// Suite is one named group of benchmarks.
type Suite struct {
	Name string // "train", "gemm", "secagg", ...
	Doc  string // one line for `murmur bench --help`
	Run  func(ctx context.Context, cfg Config, emit func(Result)) error
}

var (
	mu     sync.Mutex
	suites = map[string]Suite{}
)

// Register adds a suite; it panics on a duplicate name (a programming error).
func Register(s Suite) {
	mu.Lock()
	defer mu.Unlock()
	if _, dup := suites[s.Name]; dup {
		panic("bench: duplicate suite " + s.Name)
	}
	suites[s.Name] = s
}

// Suites returns the registered suites sorted by name.
func Suites() []Suite {
	mu.Lock()
	defer mu.Unlock()
	return slices.SortedFunc(maps.Values(suites), func(a, b Suite) int {
		if a.Name < b.Name {
			return -1
		}
		if a.Name > b.Name {
			return 1
		}
		return 0
	})
}

// Lookup returns the suite with the given name.
func Lookup(name string) (Suite, bool) {
	mu.Lock()
	defer mu.Unlock()
	s, ok := suites[name]
	return s, ok
}

// Stats summarises repeated timings of one operation.
type Stats struct {
	Median, Min, Max time.Duration
	Runs             int
}

// Time runs f once to warm up, then repeatedly until runs repetitions or
// budget is spent (at least 3 runs), and reports the median. Medians, not
// means: the machines are shared and noisy.
func Time(runs int, budget time.Duration, f func()) Stats {
	f()
	var ds []time.Duration
	start := time.Now()
	for len(ds) < runs && (len(ds) < 3 || time.Since(start) < budget) {
		t := time.Now()
		f()
		ds = append(ds, time.Since(t))
	}
	return Summarize(ds)
}

// Summarize returns the median, extremes and count of ds (at least one),
// for loops that time their runs themselves.
func Summarize(ds []time.Duration) Stats {
	ds = slices.Clone(ds)
	slices.Sort(ds)
	return Stats{Median: ds[len(ds)/2], Min: ds[0], Max: ds[len(ds)-1], Runs: len(ds)}
}

// Extra returns the usual extra keys for s: runs, and min/max in the same
// unit as a per-second rate computed from work units per run.
func (s Stats) Extra(workPerRun float64) map[string]any {
	return map[string]any{
		"runs": s.Runs,
		"min":  workPerRun / s.Max.Seconds(),
		"max":  workPerRun / s.Min.Seconds(),
	}
}

// Rate returns work per second at the median.
func (s Stats) Rate(workPerRun float64) float64 { return workPerRun / s.Median.Seconds() }

// WriteTable prints results grouped by "<suite>/<case>", one row per
// variant, with each variant's ratio to the first variant of its case.
func WriteTable(w io.Writer, rs []Result) {
	type row struct {
		caseName, variant string
		r                 Result
	}
	var rows []row
	first := map[string]Result{} // each case's first row: the ratios' base
	for _, r := range rs {
		c, v := splitCase(r.Bench)
		rows = append(rows, row{c, v, r})
		if _, ok := first[c]; !ok {
			first[c] = r
		}
	}
	fmt.Fprintf(w, "%-44s %-16s %14s %-12s %8s\n", "case", "variant", "value", "unit", "ratio")
	last := ""
	for _, rw := range rows {
		c := rw.caseName
		if c == last {
			c = ""
		}
		last = rw.caseName
		ratio := "-" // no ratio between different units
		if b := first[rw.caseName]; b.Value != 0 && b.Unit == rw.r.Unit {
			ratio = fmt.Sprintf("%.2fx", rw.r.Value/b.Value)
		}
		fmt.Fprintf(w, "%-44s %-16s %14s %-12s %8s\n", c, rw.variant, formatValue(rw.r.Value), rw.r.Unit, ratio)
	}
}

func splitCase(name string) (string, string) {
	for i := len(name) - 1; i >= 0; i-- {
		if name[i] == '/' {
			return name[:i], name[i+1:]
		}
	}
	return name, ""
}

func formatValue(v float64) string {
	switch {
	case v >= 1000:
		return fmt.Sprintf("%.0f", v)
	case v >= 10:
		return fmt.Sprintf("%.1f", v)
	default:
		return fmt.Sprintf("%.3f", v)
	}
}

// RunQuick runs the named suite in quick mode and checks every row has the
// DESIGN.md shape: "<suite>/<case>/<variant>", a positive finite value and
// a unit. Suites' tests call it, then check their own rows.
func RunQuick(ctx context.Context, suite string) ([]Result, error) {
	s, ok := Lookup(suite)
	if !ok {
		return nil, fmt.Errorf("bench: suite %q is not registered", suite)
	}
	var rows []Result
	if err := s.Run(ctx, Config{Quick: true, Log: io.Discard}, func(r Result) { rows = append(rows, r) }); err != nil {
		return rows, err
	}
	if len(rows) == 0 {
		return nil, fmt.Errorf("bench: suite %q emitted no rows", suite)
	}
	for _, r := range rows {
		parts := strings.Split(r.Bench, "/")
		if len(parts) < 3 || parts[0] != suite || !(r.Value > 0) || math.IsInf(r.Value, 0) || r.Unit == "" {
			return rows, fmt.Errorf("bench: suite %q: malformed row %q value %v unit %q", suite, r.Bench, r.Value, r.Unit)
		}
	}
	return rows, nil
}
