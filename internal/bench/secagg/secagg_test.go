package secagg

import (
	"context"
	"encoding/json"
	"io"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/murmur-fl/murmur/internal/bench"
)

func TestQuick(t *testing.T) {
	s, ok := bench.Lookup("secagg")
	if !ok {
		t.Fatal("suite secagg not registered")
	}
	var rows []bench.Result
	err := s.Run(context.Background(), bench.Config{Quick: true, Log: io.Discard}, func(r bench.Result) { rows = append(rows, r) })
	if err != nil {
		t.Fatal(err)
	}
	seen := map[string]bool{}
	for _, r := range rows {
		t.Logf("%s = %.3f %s", r.Bench, r.Value, r.Unit)
		if !strings.HasPrefix(r.Bench, "secagg/") || !(r.Value > 0) {
			t.Errorf("bad row %+v", r)
		}
		seen[strings.SplitN(r.Bench, "/", 3)[1]] = true
	}
	for _, c := range []string{"client", "upload", "server"} {
		if !seen[c] {
			t.Errorf("no %s rows", c)
		}
	}
}

func TestParseMetric(t *testing.T) {
	out := "BenchmarkClient/d=100000/n=100 \t 3\t 123 ns/op\t 45.5 client-ms/op\t 100 upload-bytes\nPASS\n"
	v, err := parseMetric([]byte(out), "client-ms/op")
	if err != nil || v != 45.5 {
		t.Fatalf("parseMetric = %v, %v", v, err)
	}
	if _, err := parseMetric([]byte("PASS"), "client-ms/op"); err == nil {
		t.Fatal("missing metric not reported")
	}
}

// TestFullSuite runs the whole suite and prints the table:
// MURMUR_BENCH=1 go test ./internal/bench/secagg -run FullSuite -v -timeout 30m
func TestFullSuite(t *testing.T) {
	if os.Getenv("MURMUR_BENCH") != "1" {
		t.Skip("the full secagg benchmark takes minutes; set MURMUR_BENCH=1 to run it")
	}
	s, _ := bench.Lookup("secagg")
	if wd, err := os.Getwd(); err == nil && os.Getenv("MURMUR_SRC") == "" {
		os.Setenv("MURMUR_SRC", filepath.Join(wd, "..", "..", ".."))
	}
	var rows []bench.Result
	err := s.Run(context.Background(), bench.Config{Log: os.Stderr}, func(r bench.Result) {
		rows = append(rows, r)
		b, _ := json.Marshal(r)
		t.Logf("%s", b)
	})
	if err != nil {
		t.Fatal(err)
	}
	var buf strings.Builder
	bench.WriteTable(&buf, rows)
	t.Logf("\n%s", buf.String())
}
