//go:build wasm

package kernels

// The wasm guest runs one thread and switches goroutines only where one
// blocks, so plain variables do what atomics and sync.Pool do natively, for
// a fraction of the guest's function calls: under a host's deadline each
// call may cost a call into the host (wazero checks at every loop header,
// and Go's wasm functions are loops).

var current *installed

func loadInstalled() *installed { return current }

func swapInstalled(i *installed) *installed {
	old := current
	current = i
	return old
}

// pool recycles scratch objects so that steady-state kernel calls allocate
// nothing: a plain free list. get never blocks; put blocks only if its
// append starts a collection that parks, which at worst loses an entry.
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

// runArgs is the Args that run lends for each op: run never nests, and
// while one op runs nothing allocates (so no collection assist can park the
// goroutine) except on the way to a panic. It keeps the last op's buffers
// referenced, which the model holds anyway.
var runArgs Args

func borrowArgs() *Args { return &runArgs }

func returnArgs(*Args) {}
