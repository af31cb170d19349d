//go:build !amd64 || purego

package cpu

func hasAVX2() bool { return false }
