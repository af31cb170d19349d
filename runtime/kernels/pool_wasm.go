//go:build wasm

package kernels

// pool recycles scratch objects so that steady-state kernel calls allocate
// nothing. In wasm it is a plain free list: the guest runs one thread and
// switches goroutines only where one blocks, which get never does and put
// does only if its append triggers a collection that parks (a lost entry,
// never a shared one). sync.Pool costs a dozen guest calls per get and put,
// each of which may cost a call into the host under a deadline, and a
// collection empties it.
type pool[T any] struct{ free []*T }

func (p *pool[T]) get() *T {
	if n := len(p.free); n > 0 {
		x := p.free[n-1]
		p.free = p.free[:n-1]
		return x
	}
	return new(T)
}

func (p *pool[T]) put(x *T) { p.free = append(p.free, x) }
