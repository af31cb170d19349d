package nn

import (
	"errors"
	"strings"
	"testing"
)

func TestSpecRoundTrip(t *testing.T) {
	for _, name := range BuiltinNames() {
		s := builtin(t, name)
		back, err := ParseSpec(s.JSON())
		if err != nil {
			t.Fatalf("%s: %v", name, err)
		}
		if string(back.JSON()) != string(s.JSON()) || back.Hash() != s.Hash() {
			t.Fatalf("%s: round trip changed the spec:\n%s\n%s", name, s.JSON(), back.JSON())
		}
	}
	a, b := builtin(t, "mlp"), builtin(t, "mlp")
	b.Layers[0].Units = 64
	if a.Hash() == b.Hash() {
		t.Fatal("different specs hash the same")
	}
	// Pinned: the canonical JSON (and so the hash) must not drift.
	want := `{"name":"mlp","input":[784],"layers":[{"type":"dense","units":128},{"type":"relu"},{"type":"dense","units":10}],"loss":"softmax_xent"}`
	if got := string(a.JSON()); got != want {
		t.Fatalf("mlp JSON = %s, want %s", got, want)
	}
}

func TestParseSpecExample(t *testing.T) {
	s, err := ParseSpec([]byte(`{"input":[1,28,28], "layers":[{"type":"conv2d","filters":16,"kernel":3,"pad":1},{"type":"relu"},
		{"type":"maxpool2d","kernel":2},{"type":"flatten"},{"type":"dense","units":10}], "loss":"softmax_xent"}`))
	if err != nil {
		t.Fatal(err)
	}
	l, _ := s.Layout()
	if l[0].Name != "conv2d0.weight" || len(l[0].Shape) != 4 || l[2].Shape[1] != 16*14*14 {
		t.Fatalf("layout %+v", l)
	}
}

func TestSpecErrors(t *testing.T) {
	cases := []struct{ json, want string }{
		{`{"input":[4],`, "malformed JSON"},
		{`{"input":[4],"layers":[{"type":"dense","units":2}],"loss":"softmax_xent"} x`, "trailing data"},
		{`{"input":[4],"layers":[{"type":"dense","units":2,"unitz":3}],"loss":"softmax_xent"}`, `unknown field "unitz"`},
		{`{"input":[4],"layers":[{"type":"dense","units":3},{"type":"bogus"}],"loss":"softmax_xent"}`, `layer 1: unknown type "bogus"`},
		{`{"input":[4],"layers":[{"units":3}],"loss":"softmax_xent"}`, `layer 0: missing "type"`},
		{`{"input":[4],"layers":[{"type":"dense"}],"loss":"softmax_xent"}`, "layer 0 (dense): units must be > 0"},
		{`{"input":[4],"layers":[{"type":"dense","units":3,"kernel":2}],"loss":"softmax_xent"}`, "layer 0 (dense): field(s) kernel not used"},
		{`{"input":[4],"layers":[{"type":"conv2d","filters":2,"kernel":3}],"loss":"softmax_xent"}`, "layer 0 (conv2d): input shape [4], want [channels, height, width]"},
		{`{"input":[1,4,4],"layers":[{"type":"conv2d","filters":2,"kernel":7}],"loss":"softmax_xent"}`, "layer 0 (conv2d): kernel 7 larger than padded input 4x4"},
		{`{"input":[1,4,4],"layers":[{"type":"maxpool2d","kernel":5}],"loss":"softmax_xent"}`, "layer 0 (maxpool2d): kernel 5 larger than input"},
		{`{"input":[4],"layers":[{"type":"dense","units":3},{"type":"embedding","vocab":3,"dim":2}],"loss":"softmax_xent"}`, "layer 1 (embedding): embedding must be the first layer"},
		{`{"input":[4],"layers":[{"type":"gru","hidden":3}],"loss":"softmax_xent"}`, "layer 0 (gru): input shape [4], want [time, features]"},
		{`{"input":[4],"layers":[{"type":"dropout","rate":1.5}],"loss":"softmax_xent"}`, "layer 0 (dropout): rate 1.5"},
		{`{"input":[4],"layers":[{"type":"dense","units":3}],"loss":"mse"}`, `unknown loss "mse"`},
		{`{"input":[4],"layers":[{"type":"dense","units":3}]}`, `missing "loss"`},
		{`{"input":[4],"layers":[{"type":"dense","units":1}],"loss":"softmax_xent"}`, "classes >= 2"},
		{`{"input":[4],"layers":[{"type":"dense","units":3}],"loss":"seq_xent"}`, "seq_xent wants"},
		{`{"input":[],"layers":[{"type":"dense","units":3}],"loss":"softmax_xent"}`, "input shape is empty"},
		{`{"input":[0],"layers":[{"type":"dense","units":3}],"loss":"softmax_xent"}`, "input shape [0] is invalid"},
		{`{"input":[4],"layers":[],"loss":"softmax_xent"}`, "no layers"},
		{`{"input":[100000],"layers":[{"type":"dense","units":100000}],"loss":"softmax_xent"}`, "parameters exceed the limit"},
		{`{"input":[3],"layers":[{"type":"embedding","vocab":1000000000,"dim":2}],"loss":"seq_xent"}`, "vocab 1000000000 must be in"},
		{`{"input":[1,4,4],"layers":[{"type":"conv2d","filters":2,"kernel":3,"pad":3}],"loss":"softmax_xent"}`, "pad 3 must be smaller than kernel 3"},
		{`{"input":[1,4,4],"layers":[{"type":"conv2d","filters":2,"kernel":3,"pad":99999999999999}],"loss":"softmax_xent"}`, "above the limit"},
	}
	for _, c := range cases {
		_, err := ParseSpec([]byte(c.json))
		if !errors.Is(err, ErrSpec) || !strings.Contains(err.Error(), c.want) {
			t.Errorf("ParseSpec(%s)\n  err = %v\n want containing %q", c.json, err, c.want)
		}
	}
	if _, err := Builtin("resnet"); !errors.Is(err, ErrSpec) {
		t.Errorf("Builtin(resnet) err = %v", err)
	}
	if _, err := Build(Spec{Input: []int{3}}, 1); !errors.Is(err, ErrSpec) {
		t.Errorf("Build of an empty spec err = %v", err)
	}
}

// FuzzParseSpec: arbitrary bytes never panic, and any spec that parses
// round-trips through JSON and (when small) builds and runs one step.
func FuzzParseSpec(f *testing.F) {
	for _, name := range BuiltinNames() {
		s, _ := Builtin(name)
		f.Add(s.JSON())
	}
	f.Add([]byte(`{"input":[2,5,5],"layers":[{"type":"conv2d","filters":2,"kernel":3,"stride":2,"pad":1},{"type":"maxpool2d","kernel":2,"stride":1},{"type":"flatten"},{"type":"dropout","rate":0.5},{"type":"dense","units":3}],"loss":"softmax_xent"}`))
	f.Add([]byte(`{"input":[3,2],"layers":[{"type":"gru","hidden":3,"last":true},{"type":"sigmoid"},{"type":"dense","units":2}],"loss":"softmax_xent"}`))
	f.Fuzz(func(t *testing.T, data []byte) {
		s, err := ParseSpec(data)
		if err != nil {
			if !errors.Is(err, ErrSpec) {
				t.Fatalf("error %v does not wrap ErrSpec", err)
			}
			return
		}
		back, err := ParseSpec(s.JSON())
		if err != nil || back.Hash() != s.Hash() {
			t.Fatalf("round trip failed: %v", err)
		}
		layout, _ := s.Layout()
		total := 0
		for _, q := range layout {
			total += q.Len
		}
		if total > 1<<16 || prod(s.Input) > 1<<12 {
			return
		}
		m, err := Build(s, 1)
		if err != nil {
			t.Fatalf("parsed spec does not build: %v", err)
		}
		if m.maxAct > 1<<14 {
			return
		}
		if _, err := m.Gradients(randBatch(m, 2, 1)); err != nil {
			t.Fatalf("step on a valid batch: %v", err)
		}
	})
}
