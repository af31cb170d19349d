//go:build !amd64 || purego

package prg

const hasVAES = false

func applyVAES(dst, src []uint64, start int, terms []Term, bits int) bool { return false }
