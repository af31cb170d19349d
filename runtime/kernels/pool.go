//go:build !wasm

package kernels

import "sync"

// pool recycles scratch objects so that steady-state kernel calls allocate
// nothing. Natively it is a sync.Pool, since backends are called from many
// goroutines.
type pool[T any] struct{ p sync.Pool }

func (p *pool[T]) get() *T {
	if x, ok := p.p.Get().(*T); ok {
		return x
	}
	return new(T)
}

func (p *pool[T]) put(x *T) { p.p.Put(x) }
