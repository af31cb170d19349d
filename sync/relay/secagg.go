package relay

import (
	"errors"
	"fmt"
	"math"

	"github.com/murmur-fl/murmur/secagg"
	"github.com/murmur-fl/murmur/sync/codec"
)

// SecAgg is a Config.Secure factory running SecAgg+ (secagg/) with the
// parameters of the plan's SecAgg section (wire.SecAggPlan.Setup). Stage
// numbering on the wire: stage s carries the device's reply to the
// server's stage s-1 message; the device sends AdvertiseKeys in stage 1,
// ShareKeys in 2, its MaskedInput message as the upload of stage 3,
// ConsistencySig in 4 and UnmaskShares in 5.
func SecAgg(round uint64, n, dim int, plan Plan) (StageServer, error) {
	if plan.SecAgg == nil {
		return nil, errors.New("relay: secure aggregation on, but the plan has no secagg section")
	}
	sp, enc, err := plan.SecAgg.Setup(round, n, dim)
	if err != nil {
		return nil, err
	}
	srv, err := secagg.NewServer(sp)
	if err != nil {
		return nil, err
	}
	return &secAggStages{srv: srv, enc: enc}, nil
}

type secAggStages struct {
	srv *secagg.Server
	enc *codec.Secure
}

const secAggInputStage = 3

func (s *secAggStages) InputStage() uint8 { return secAggInputStage }

func (s *secAggStages) Collect(stage uint8, from uint32, payload []byte, _ uint64) error {
	if want := uint8(s.srv.Stage()) + 1; stage != want {
		return fmt.Errorf("secagg: message for stage %d, server is in stage %d", stage, want)
	}
	return s.srv.Handle(secagg.ClientID(from), payload)
}

func (s *secAggStages) Close(stage uint8) ([]Routed, uint8, error) {
	out, err := s.srv.Advance()
	next := stage + 1
	if s.srv.Stage() == secagg.StageDone || err != nil {
		next = 0
	}
	rs := make([]Routed, 0, len(out))
	for id, msg := range out {
		rs = append(rs, Routed{To: uint32(id), Stage: stage + 1, Payload: msg})
	}
	return rs, next, err
}

func (s *secAggStages) Result() ([]float32, float64, error) {
	sum, _, err := s.srv.Result()
	if err != nil {
		return nil, 0, err
	}
	v, w, err := s.enc.DecodeSum(sum)
	if err != nil {
		return nil, 0, err
	}
	for i, x := range v {
		if math.IsNaN(float64(x)) || math.IsInf(float64(x), 0) {
			return nil, 0, fmt.Errorf("%w: aggregate coordinate %d is %v", ErrBadUpdate, i, x)
		}
	}
	return v, float64(w), nil
}
