//go:build purego || !(amd64 || arm64)

package accel

// No assembly kernel for this architecture (or assembly switched off with
// -tags purego): Native runs kernels.Portable on row blocks on all cores.
