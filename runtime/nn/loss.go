package nn

import "github.com/murmur-fl/murmur/runtime/kernels"

// xentEval scores rows of logits against labels (-1 skips a row); the loss
// and ranking run as a kernel (kernels.XentEval) so a host can take them.
func xentEval(logits []float32, labels []int32, c int) Eval {
	loss, count, top1, top3 := kernels.XentEval(logits, labels, c)
	return Eval{Loss: loss, Count: count, Top1: top1, Top3: top3}
}
