//go:build !amd64 || purego

package topk

const useAVX2 = false

func passMaskAVX2(m *byte, a *float32, n int, t float32) { panic("topk: no AVX2") }
