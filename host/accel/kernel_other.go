//go:build !amd64 && !arm64

package accel

// No assembly kernel for this architecture yet: Native uses the portable
// kernel on all cores.
