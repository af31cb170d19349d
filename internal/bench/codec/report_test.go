package codec

import (
	"testing"
	"time"
)

// reportCPU adds a cpu-MB/s metric: bytes per op over CPU time per op.
func reportCPU(b *testing.B, bytes int64, t0 time.Duration) {
	if d := cpuTime() - t0; d > 0 && b.N > 0 {
		b.ReportMetric(float64(bytes)*float64(b.N)/d.Seconds()/1e6, "cpu-MB/s")
	}
}
