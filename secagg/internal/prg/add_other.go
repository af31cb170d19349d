//go:build !amd64 || purego

package prg

func addU32(a, b []uint32) { addU32Go(a, b) }

func subU32(a, b []uint32) { subU32Go(a, b) }
