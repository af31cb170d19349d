package relay

import (
	"bytes"
	"encoding/json"

	"golang.org/x/time/rate"
)

func bytesReader(b []byte) *bytes.Reader { return bytes.NewReader(b) }

func newLimiter(c Config) *rate.Limiter { return rate.NewLimiter(c.Rate, c.Burst) }

func jsonMarshal(v any) ([]byte, error) { return json.Marshal(v) }

func jsonUnmarshal(b []byte, v any) error { return json.Unmarshal(b, v) }
