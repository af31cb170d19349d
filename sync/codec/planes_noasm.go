//go:build !amd64 || purego

package codec

const useAVX2 = false

func splitF32AVX2(p *byte, x, base *float32, n, stride int)  { panic("codec: no AVX2") }
func splitBF16AVX2(p *byte, x, base *float32, n, stride int) { panic("codec: no AVX2") }

func mergeF32AVX2(vals *float32, p *byte, base *float32, n, stride int) uint32 {
	panic("codec: no AVX2")
}

func mergeBF16AVX2(vals *float32, p *byte, base *float32, n, stride int) uint32 {
	panic("codec: no AVX2")
}

func finiteFlagAVX2(x *float32, n int) uint32 { panic("codec: no AVX2") }

func subF32AVX2(dst, x, base *float32, n int) { panic("codec: no AVX2") }

func compactXORAVX2(w *float32, mask *byte, x, base *float32, n int, lut *uint32, cnt *uint8) int {
	panic("codec: no AVX2")
}

func unmaskF32AVX2(vals, w *float32, mask *byte, base *float32, n int, lut *uint32, cnt *uint8) (flag uint32, j int) {
	panic("codec: no AVX2")
}

func compactBytesSSSE3(dst, src, masks *byte, n int, lut *[8]byte, cnt *uint8) int {
	panic("codec: no AVX2")
}

func expandBytesSSSE3(dst, src, masks *byte, n int, lut *[8]byte, cnt *uint8) int {
	panic("codec: no AVX2")
}
