// Package cpu reports the x86 features the codec's assembly kernels need.
// Every kernel has a Go twin that gives the same bytes; X86.HasAVX2 only
// picks the faster one.
package cpu

// HasAVX2 is true when the CPU has AVX2 and the OS saves the YMM
// registers, and the package is built with assembly (amd64, not purego).
var HasAVX2 = hasAVX2()
