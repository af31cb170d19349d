package kernels

import "fmt"

// ConvGeom is the geometry of a 2-D convolution over one example stored
// [C, H, W] (NCHW without N), with a K×K kernel, stride S >= 1 and zero
// padding P on every side. It matches runtime/nn's conv2d.
type ConvGeom struct{ C, H, W, K, S, P int }

// OutH and OutW are the output height and width.
func (g ConvGeom) OutH() int { return (g.H+2*g.P-g.K)/g.S + 1 }

// OutW is the output width.
func (g ConvGeom) OutW() int { return (g.W+2*g.P-g.K)/g.S + 1 }

// Check returns an error naming the first bad field, or a slice too short.
func (g ConvGeom) Check(img, col []float32) error {
	switch {
	case g.C < 1 || g.H < 1 || g.W < 1:
		return fmt.Errorf("kernels: conv geometry: C, H, W must be >= 1, got %d, %d, %d", g.C, g.H, g.W)
	case g.K < 1 || g.S < 1 || g.P < 0:
		return fmt.Errorf("kernels: conv geometry: need K >= 1, S >= 1, P >= 0, got K=%d S=%d P=%d", g.K, g.S, g.P)
	case g.K > g.H+2*g.P || g.K > g.W+2*g.P:
		return fmt.Errorf("kernels: conv geometry: kernel %d larger than padded input %dx%d", g.K, g.H+2*g.P, g.W+2*g.P)
	case len(img) < g.C*g.H*g.W:
		return fmt.Errorf("kernels: conv: image has %d floats, need %d", len(img), g.C*g.H*g.W)
	case len(col) < g.C*g.K*g.K*g.OutH()*g.OutW():
		return fmt.Errorf("kernels: conv: column buffer has %d floats, need %d", len(col), g.C*g.K*g.K*g.OutH()*g.OutW())
	}
	return nil
}

// validRange returns the output columns [lo, hi) whose input column
// oj*S+off lies inside [0, w).
func validRange(off, s, w, ow int) (lo, hi int) {
	if off < 0 {
		lo = min(ow, (-off+s-1)/s)
	}
	// Largest oj with oj*s+off <= w-1.
	if w-1-off < 0 {
		return lo, lo
	}
	hi = min(ow, (w-1-off)/s+1)
	return lo, max(lo, hi)
}

// PortableIm2Col is the pure-Go Im2Col (always available to backends).
func PortableIm2Col(g ConvGeom, img, col []float32) {
	if err := g.Check(img, col); err != nil {
		panic(err.Error())
	}
	oh, ow := g.OutH(), g.OutW()
	p := oh * ow
	row := 0
	for ch := 0; ch < g.C; ch++ {
		plane := img[ch*g.H*g.W : (ch+1)*g.H*g.W]
		for ki := 0; ki < g.K; ki++ {
			for kj := 0; kj < g.K; kj++ {
				dst := col[row*p : (row+1)*p]
				row++
				off := kj - g.P
				lo, hi := validRange(off, g.S, g.W, ow)
				for oi := 0; oi < oh; oi++ {
					d := dst[oi*ow : (oi+1)*ow]
					ii := oi*g.S + ki - g.P
					if ii < 0 || ii >= g.H || lo >= hi {
						clear(d)
						continue
					}
					src := plane[ii*g.W : (ii+1)*g.W]
					clear(d[:lo])
					if g.S == 1 {
						copy(d[lo:hi], src[lo+off:hi+off])
					} else {
						for oj := lo; oj < hi; oj++ {
							d[oj] = src[oj*g.S+off]
						}
					}
					clear(d[hi:])
				}
			}
		}
	}
}

// PortableCol2Im is the pure-Go Col2Im (always available to backends).
func PortableCol2Im(g ConvGeom, col, img []float32) {
	if err := g.Check(img, col); err != nil {
		panic(err.Error())
	}
	oh, ow := g.OutH(), g.OutW()
	p := oh * ow
	clear(img[:g.C*g.H*g.W])
	row := 0
	for ch := 0; ch < g.C; ch++ {
		plane := img[ch*g.H*g.W : (ch+1)*g.H*g.W]
		for ki := 0; ki < g.K; ki++ {
			for kj := 0; kj < g.K; kj++ {
				src := col[row*p : (row+1)*p]
				row++
				off := kj - g.P
				lo, hi := validRange(off, g.S, g.W, ow)
				if lo >= hi {
					continue
				}
				for oi := 0; oi < oh; oi++ {
					ii := oi*g.S + ki - g.P
					if ii < 0 || ii >= g.H {
						continue
					}
					s := src[oi*ow+lo : oi*ow+hi]
					dst := plane[ii*g.W : (ii+1)*g.W]
					if g.S == 1 {
						d := dst[lo+off : hi+off]
						for t, v := range s {
							d[t] += v
						}
					} else {
						for t, v := range s {
							dst[(lo+t)*g.S+off] += v
						}
					}
				}
			}
		}
	}
}
