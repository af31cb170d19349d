package main

import (
	"bytes"
	"encoding/json"
	"strings"
	"testing"

	"github.com/murmur-fl/murmur/internal/bench"
	"github.com/murmur-fl/murmur/internal/cli"
)

func runMurmur(t *testing.T, args ...string) (int, string, string) {
	t.Helper()
	var out, errb bytes.Buffer
	env := &cli.Env{Stdout: &out, Stderr: &errb, Getenv: func(string) string { return "" }}
	return cli.Main(env, commands(), args), out.String(), errb.String()
}

func TestEveryCommandHasHelp(t *testing.T) {
	for _, c := range commands() {
		code, out, _ := runMurmur(t, c.Name, "--help")
		if code != 0 || !strings.Contains(out, "Usage: murmur "+c.Name) || !strings.Contains(out, "Examples:") {
			t.Errorf("%s --help: code=%d out=%q", c.Name, code, out)
		}
	}
}

// TestBenchQuickJSON checks the JSON lines of `murmur bench --json` follow
// DESIGN.md (bench name with three parts, positive value, unit); every
// suite's own package runs it in quick mode.
func TestBenchQuickJSON(t *testing.T) {
	code, out, stderr := runMurmur(t, "bench", "--quick", "--json", "gemm")
	if code != 0 {
		t.Fatalf("bench exit %d: %s", code, stderr)
	}
	lines := strings.Split(strings.TrimSpace(out), "\n")
	if len(lines) == 0 || lines[0] == "" {
		t.Fatal("no results")
	}
	for _, l := range lines {
		var r struct {
			Bench string  `json:"bench"`
			Value float64 `json:"value"`
			Unit  string  `json:"unit"`
		}
		if err := json.Unmarshal([]byte(l), &r); err != nil {
			t.Fatalf("line %q: %v", l, err)
		}
		if strings.Count(r.Bench, "/") < 2 || r.Unit == "" || !(r.Value > 0) {
			t.Errorf("malformed result %q", l)
		}
	}
}

func TestBenchTable(t *testing.T) {
	code, out, stderr := runMurmur(t, "bench", "--quick", "gemm")
	if code != 0 || !strings.Contains(out, "gemm/64") || !strings.Contains(out, "ratio") || !strings.Contains(out, "GFLOP/s") {
		t.Fatalf("code %d\n%s\n%s", code, out, stderr)
	}
}

func TestEverySuiteIsLinked(t *testing.T) {
	for _, name := range []string{"codec", "gemm", "relay", "secagg", "train", "wasm"} {
		if _, ok := bench.Lookup(name); !ok {
			t.Errorf("suite %q is not linked into murmur", name)
		}
	}
}

func TestBenchUnknownSuite(t *testing.T) {
	code, _, stderr := runMurmur(t, "bench", "nosuch")
	if code != 2 || !strings.Contains(stderr, `unknown suite "nosuch"`) {
		t.Fatalf("code=%d stderr=%q", code, stderr)
	}
}
