package accel

import (
	"testing"

	"go.uber.org/goleak"
)

// Native and Exact fan out to goroutines on every large call; none may
// outlive the call.
func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }
