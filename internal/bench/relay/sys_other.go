//go:build !linux

package relay

import "runtime"

func raiseFileLimit() int { return 0 }

// rss falls back to the Go runtime's view where /proc is missing.
func rss() uint64 {
	var m runtime.MemStats
	runtime.ReadMemStats(&m)
	return m.Sys - m.HeapReleased
}
