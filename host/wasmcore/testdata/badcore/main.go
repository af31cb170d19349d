//go:build wasip1

// Command badcore is a misbehaving core for host/wasmcore's limit tests: it
// speaks a configurable ABI version and has exports that panic, trap, loop
// and exhaust memory.
package main

import "unsafe"

// abi is the ABI version it claims; tests build with -ldflags=-X main.abi=N.
var abi = "3"

var hoard [][]byte

func main() {}

//go:wasmexport abi_version
func abiVersion() int32 {
	v := int32(0)
	for _, c := range abi {
		v = v*10 + c - '0'
	}
	return v
}

//go:wasmexport init
func initExport(int32) int32 { return 0 }

//go:wasmexport do_panic
func doPanic() int32 { panic("badcore: deliberate panic") }

//go:wasmexport do_trap
func doTrap() int32 {
	// Beyond the end of linear memory: an out-of-bounds trap.
	return *(*int32)(unsafe.Pointer(uintptr(0xFFFFFFF0)))
}

//go:wasmexport do_loop
func doLoop() int32 {
	x := int32(0)
	for {
		x++
		if x == -7 {
			return x
		}
	}
}

//go:wasmexport do_oom
func doOOM() int32 {
	for {
		hoard = append(hoard, make([]byte, 64<<20))
	}
}

//go:wasmexport ok
func ok() int32 { return 42 }
