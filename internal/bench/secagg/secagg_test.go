package secagg

import (
	"context"
	"os"
	"strconv"
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

// TestRows runs chosen rows at full size when MURMUR_SECAGG_ROWS is set,
// e.g. "client/1000000/1000,server/1000/0.3" (for profiling one row
// without the whole suite).
func TestRows(t *testing.T) {
	spec := os.Getenv("MURMUR_SECAGG_ROWS")
	if spec == "" {
		t.Skip("set MURMUR_SECAGG_ROWS to run")
	}
	for _, row := range strings.Split(spec, ",") {
		f := strings.Split(row, "/")
		if len(f) != 3 {
			t.Fatalf("row %q: want client/<d>/<n> or server/<n>/<drop>", row)
		}
		a, _ := strconv.Atoi(f[1])
		switch f[0] {
		case "client":
			n, _ := strconv.Atoi(f[2])
			r, err := Client(a, n, false)
			if err != nil {
				t.Fatal(err)
			}
			t.Logf("%s = %.3f %s %v", r[0].Bench, r[0].Value, r[0].Unit, r[0].Extra)
		case "server":
			drop, _ := strconv.ParseFloat(f[2], 64)
			r, err := Server(100000, a, drop)
			if err != nil {
				t.Fatal(err)
			}
			t.Logf("%s = %.3f %s %v", r.Bench, r.Value, r.Unit, r.Extra)
		default:
			t.Fatalf("row %q: unknown kind %q", row, f[0])
		}
	}
}
