package secagg

import (
	"context"
	"strings"
	"testing"

	"github.com/murmur-fl/murmur/internal/bench"
)

func TestQuick(t *testing.T) {
	rows, err := bench.RunQuick(context.Background(), "secagg")
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
