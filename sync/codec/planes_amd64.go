//go:build amd64 && !purego

package codec

import "github.com/murmur-fl/murmur/sync/codec/internal/cpu"

var useAVX2 = cpu.HasAVX2

//go:noescape
func splitF32AVX2(p *byte, x, base *float32, n, stride int)

//go:noescape
func splitBF16AVX2(p *byte, x, base *float32, n, stride int)

//go:noescape
func mergeF32AVX2(vals *float32, p *byte, base *float32, n, stride int) uint32

//go:noescape
func mergeBF16AVX2(vals *float32, p *byte, base *float32, n, stride int) uint32

//go:noescape
func finiteFlagAVX2(x *float32, n int) uint32

//go:noescape
func subF32AVX2(dst, x, base *float32, n int)

//go:noescape
func compactXORAVX2(w *float32, mask *byte, x, base *float32, n int, lut *uint32, cnt *uint8) int

//go:noescape
func unmaskF32AVX2(vals, w *float32, mask *byte, base *float32, n int, lut *uint32, cnt *uint8) (flag uint32, j int)

//go:noescape
func compactBytesSSSE3(dst, src, masks *byte, n int, lut *[8]byte, cnt *uint8) int

//go:noescape
func expandBytesSSSE3(dst, src, masks *byte, n int, lut *[8]byte, cnt *uint8) int
