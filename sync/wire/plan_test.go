package wire

import (
	"testing"
)

// TestSecAggPlanCodecVersion: the plan's codec version reaches the encoder
// (0 means the codec's newest), and a bad one is refused.
func TestSecAggPlanCodecVersion(t *testing.T) {
	for _, v := range []int{0, 1, 2, 3} {
		p := SecAggPlan{Bits: 8, ClipNorm: 1, Rotate: true, CodecVersion: v}
		_, enc, err := p.Setup(3, 10, 100)
		if err != nil {
			t.Fatalf("version %d: %v", v, err)
		}
		want := v
		if v == 0 {
			want = 3 // the newest
		}
		if got := enc.Config().Version; got != want {
			t.Fatalf("plan codec_version %d: encoder version %d, want %d", v, got, want)
		}
	}
	p := SecAggPlan{Bits: 8, ClipNorm: 1, CodecVersion: 99}
	if _, _, err := p.Setup(3, 10, 100); err == nil {
		t.Fatal("codec_version 99 accepted")
	}
}
