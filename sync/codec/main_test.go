package codec

import (
	"testing"

	"go.uber.org/goleak"
)

// The shared zstd encoder and decoder must not leave goroutines behind.
// (runtime.handleEvent is js/wasm's own event-loop goroutine.)
func TestMain(m *testing.M) {
	goleak.VerifyTestMain(m, goleak.IgnoreAnyFunction("runtime.handleEvent"))
}
