//go:build unix

package gemm

import (
	"syscall"
	"time"
)

// processCPU returns the CPU time (user+system) used by this process so far.
// On a shared machine, work per CPU-second is steadier than work per
// wall-clock second, because time-slicing by other tenants is excluded.
func processCPU() (time.Duration, bool) {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		return 0, false
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano()), true
}
