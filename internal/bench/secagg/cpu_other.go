//go:build !unix

package secagg

import "time"

func cpuTime() time.Duration { return 0 }
