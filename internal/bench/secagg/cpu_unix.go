//go:build unix

package secagg

import (
	"syscall"
	"time"
)

// cpuTime is the process's user+system CPU time. On a shared, overloaded
// machine it tracks the work done better than wall time does.
func cpuTime() time.Duration {
	var ru syscall.Rusage
	if syscall.Getrusage(syscall.RUSAGE_SELF, &ru) != nil {
		return 0
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}
