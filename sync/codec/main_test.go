package codec

import (
	"testing"

	"go.uber.org/goleak"
)

// The shared zstd encoder and decoder must not leave goroutines behind.
func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }
