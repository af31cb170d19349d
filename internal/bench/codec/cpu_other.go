//go:build !unix

package codec

import "time"

// cpuTime is not measured here (wasm): 0 leaves cpu_mbps out.
func cpuTime() time.Duration { return 0 }
