package kernels_test

import (
	"testing"

	"github.com/murmur-fl/murmur/runtime/kernels"
	"github.com/murmur-fl/murmur/runtime/kernels/kerneltest"
)

func TestPortableConformance(t *testing.T) { kerneltest.Run(t, kernels.Portable{}) }
