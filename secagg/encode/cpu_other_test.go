//go:build !unix

package encode

import (
	"testing"
	"time"
)

func cpuTime() time.Duration                                { return 0 }
func reportCPU(b *testing.B, bytes int64, t0 time.Duration) {}
