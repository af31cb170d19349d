//go:build linux

package kernels_test

import (
	"syscall"
	"unsafe"
)

// threadCPUClock returns a nanotime source that counts only this OS thread's
// CPU time (CLOCK_THREAD_CPUTIME_ID). Given to wazero as the guest's
// monotonic clock, it makes in-guest timings immune to time-slicing by other
// processes on a shared machine; the caller must LockOSThread.
func threadCPUClock() func() int64 {
	return func() int64 {
		var ts syscall.Timespec
		const clockThreadCPUTimeID = 3
		syscall.Syscall(syscall.SYS_CLOCK_GETTIME, clockThreadCPUTimeID, uintptr(unsafe.Pointer(&ts)), 0)
		return ts.Nano()
	}
}
