//go:build !wasm

package kernels

import (
	"sync"
	"sync/atomic"
)

// Natively, kernels are called from many goroutines: the installed backend
// is an atomic pointer and scratch objects come from sync.Pools.

var current atomic.Pointer[installed]

func loadInstalled() *installed             { return current.Load() }
func swapInstalled(i *installed) *installed { return current.Swap(i) }

// pool recycles scratch objects so that steady-state kernel calls allocate
// nothing.
type pool[T any] struct{ p sync.Pool }

func (p *pool[T]) get() *T {
	if x, ok := p.p.Get().(*T); ok {
		return x
	}
	return new(T)
}

func (p *pool[T]) put(x *T) { p.p.Put(x) }

var argsPool pool[Args]

// borrowArgs lends run an Args for one op; returnArgs takes it back,
// cleared so that it keeps none of the caller's buffers alive.
func borrowArgs() *Args { return argsPool.get() }

func returnArgs(p *Args) {
	*p = Args{}
	argsPool.put(p)
}
