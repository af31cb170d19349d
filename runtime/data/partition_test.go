package data

import (
	"slices"
	"strings"
	"testing"
)

// coverExactly checks that parts hold every index in [0, n) exactly once.
func coverExactly(t *testing.T, parts [][]int, n int) {
	t.Helper()
	var all []int
	for _, p := range parts {
		all = append(all, p...)
	}
	slices.Sort(all)
	if len(all) != n {
		t.Fatalf("parts hold %d indices, want %d", len(all), n)
	}
	for i, v := range all {
		if v != i {
			t.Fatalf("index %d missing or duplicated", i)
		}
	}
}

func TestParsePartition(t *testing.T) {
	good := map[string]Partition{
		"iid": {Kind: "iid"}, " IID ": {Kind: "iid"}, "source": {Kind: "source"},
		"dirichlet:0.5": {Kind: "dirichlet", Alpha: 0.5}, "dirichlet:1e-2": {Kind: "dirichlet", Alpha: 0.01},
	}
	for in, want := range good {
		got, err := ParsePartition(in)
		if err != nil || got != want {
			t.Errorf("ParsePartition(%q) = %+v, %v; want %+v", in, got, err, want)
		}
		if back, _ := ParsePartition(got.String()); back != want {
			t.Errorf("String() %q does not parse back", got.String())
		}
	}
	bad := map[string]string{
		"":               "unknown kind",
		"random":         "unknown kind",
		"dirichlet":      "needs a concentration",
		"dirichlet:":     "needs a concentration",
		"dirichlet:0":    "positive finite",
		"dirichlet:-1":   "positive finite",
		"dirichlet:NaN":  "positive finite",
		"dirichlet:+Inf": "positive finite",
		"dirichlet:x":    "positive finite",
		"iid:3":          "no parameter",
	}
	for in, want := range bad {
		if _, err := ParsePartition(in); err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("ParsePartition(%q) error %v, want one containing %q", in, err, want)
		}
	}
}

func TestPartitionIID(t *testing.T) {
	parts, err := PartitionIID(103, 10, NewRand(1))
	if err != nil {
		t.Fatal(err)
	}
	coverExactly(t, parts, 103)
	for _, p := range parts {
		if len(p) != 10 && len(p) != 11 {
			t.Errorf("part of %d examples", len(p))
		}
	}
	again, _ := PartitionIID(103, 10, NewRand(1))
	for d := range parts {
		if !slices.Equal(parts[d], again[d]) {
			t.Fatal("same seed, different partition")
		}
	}
	if _, err := PartitionIID(5, 6, NewRand(1)); err == nil {
		t.Error("more devices than examples accepted")
	}
	if _, err := PartitionIID(5, 0, NewRand(1)); err == nil {
		t.Error("zero devices accepted")
	}
}

func balancedLabels(n, classes int) []int32 {
	l := make([]int32, n)
	for i := range l {
		l[i] = int32(i % classes)
	}
	return l
}

func TestPartitionDirichletSkew(t *testing.T) {
	labels := balancedLabels(6000, 10)
	prev := -1.0
	for _, alpha := range []float64{1000, 1, 0.1, 0.01} {
		parts, err := PartitionDirichlet(labels, 10, 50, alpha, 10, NewRand(7))
		if err != nil {
			t.Fatal(err)
		}
		coverExactly(t, parts, len(labels))
		for d, p := range parts {
			if len(p) < 10 {
				t.Errorf("alpha %g: device %d has %d examples", alpha, d, len(p))
			}
		}
		skew := LabelSkew(labels, 10, parts)
		t.Logf("alpha %-6g label skew %.3f", alpha, skew)
		if skew <= prev {
			t.Errorf("alpha %g: skew %.3f did not grow (previous %.3f)", alpha, skew, prev)
		}
		prev = skew
	}
	// Near-IID and near-disjoint ends.
	iid, _ := PartitionIID(len(labels), 50, NewRand(7))
	if s := LabelSkew(labels, 10, iid); s > 0.15 {
		t.Errorf("IID skew %.3f", s)
	}
	if prev < 0.6 {
		t.Errorf("alpha 0.01 skew %.3f, want strong skew", prev)
	}
}

// Pins the exact partition for a seed, guarding the claim that Dirichlet
// sampling is bit-identical on every platform (no math.Log/Exp assembly, no
// fused multiply-adds).
func TestPartitionDirichletKnownAnswer(t *testing.T) {
	parts, err := PartitionDirichlet(balancedLabels(40, 4), 4, 3, 0.5, 2, NewRand(2024))
	if err != nil {
		t.Fatal(err)
	}
	var sizes []int
	for _, p := range parts {
		sizes = append(sizes, len(p))
	}
	t.Logf("sizes %v first %v", sizes, parts[0])
	if want := dirichletKA; !slices.Equal(sizes, want.sizes) || !slices.Equal(parts[0], want.first) {
		t.Errorf("sizes %v first part %v; want %v %v", sizes, parts[0], want.sizes, want.first)
	}
}

func TestPartitionDirichletErrors(t *testing.T) {
	l := balancedLabels(20, 2)
	if _, err := PartitionDirichlet(l, 2, 3, 0, 1, NewRand(1)); err == nil {
		t.Error("alpha 0 accepted")
	}
	if _, err := PartitionDirichlet(l, 2, 3, 1, 7, NewRand(1)); err == nil {
		t.Error("3 devices x 7 minimum from 20 examples accepted")
	}
	if _, err := PartitionDirichlet([]int32{0, 5}, 2, 1, 1, 1, NewRand(1)); err == nil || !strings.Contains(err.Error(), "label 5") {
		t.Errorf("bad label: %v", err)
	}
	// classes <= 0 infers them.
	parts, err := PartitionDirichlet(l, 0, 2, 1, 1, NewRand(1))
	if err != nil {
		t.Fatal(err)
	}
	coverExactly(t, parts, 20)
}

func TestPartitionBySource(t *testing.T) {
	// Sources 0 (60 examples), 1 (30), 2 (10).
	var src []int32
	for i := range 100 {
		switch {
		case i < 60:
			src = append(src, 0)
		case i < 90:
			src = append(src, 1)
		default:
			src = append(src, 2)
		}
	}
	slices.Reverse(src) // group ids, not positions, decide the order
	sourceOf := func(p []int) int32 {
		s := src[p[0]]
		for _, i := range p {
			if src[i] != s {
				t.Fatalf("device mixes sources %d and %d", s, src[i])
			}
		}
		return s
	}
	// 10 devices over 3 sources: D'Hondt gives 6, 3, 1.
	parts, err := PartitionBySource(src, 10, NewRand(3))
	if err != nil {
		t.Fatal(err)
	}
	coverExactly(t, parts, 100)
	var per [3]int
	for _, p := range parts {
		per[sourceOf(p)]++
		if len(p) != 10 {
			t.Errorf("device with %d examples, want 10", len(p))
		}
	}
	if per != [3]int{6, 3, 1} {
		t.Errorf("devices per source %v, want [6 3 1]", per)
	}
	// 2 devices, 3 sources: whole sources packed, largest first.
	parts, err = PartitionBySource(src, 2, NewRand(3))
	if err != nil {
		t.Fatal(err)
	}
	coverExactly(t, parts, 100)
	if len(parts[0]) != 60 || len(parts[1]) != 40 {
		t.Errorf("packed sizes %d, %d; want 60, 40", len(parts[0]), len(parts[1]))
	}
	// A tiny source never gets more devices than examples.
	tiny := []int32{0, 0, 0, 0, 0, 0, 0, 0, 1}
	parts, err = PartitionBySource(tiny, 9, NewRand(1))
	if err != nil {
		t.Fatal(err)
	}
	coverExactly(t, parts, 9)
	for _, p := range parts {
		if len(p) != 1 {
			t.Errorf("device with %d examples", len(p))
		}
	}
	if _, err := PartitionBySource(tiny, 10, NewRand(1)); err == nil {
		t.Error("10 devices from 9 examples accepted")
	}
}

func TestPartitionSplit(t *testing.T) {
	d := seqSet(200, 2)
	for _, s := range []string{"iid", "dirichlet:0.3"} {
		p, _ := ParsePartition(s)
		parts, err := p.Split(d.Examples(), 8, NewRand(1))
		if err != nil {
			t.Fatalf("%s: %v", s, err)
		}
		coverExactly(t, parts, 200)
	}
	p, _ := ParsePartition("source")
	if _, err := p.Split(d.Examples(), 8, NewRand(1)); err == nil || !strings.Contains(err.Error(), "sources") {
		t.Errorf("source split of an image set: %v", err)
	}
	ts := &TextSet{N: 4, Seq: 1, Source: []int32{0, 1, 1, 0}}
	parts, err := p.Split(ts.Examples(), 2, NewRand(1))
	if err != nil {
		t.Fatal(err)
	}
	coverExactly(t, parts, 4)
	p, _ = ParsePartition("dirichlet:1")
	if _, err := p.Split(ts.Examples(), 2, NewRand(1)); err == nil || !strings.Contains(err.Error(), "labels") {
		t.Errorf("dirichlet split of a text set: %v", err)
	}
}

func TestRealFashionDirichlet(t *testing.T) {
	fm := realFashion(t)
	p, _ := ParsePartition("dirichlet:0.1")
	parts, err := p.Split(fm.Train.Examples(), 100, NewRand(1))
	if err != nil {
		t.Fatal(err)
	}
	coverExactly(t, parts, fm.Train.N)
	t.Logf("Fashion-MNIST train over 100 devices, dirichlet:0.1: label skew %.3f", LabelSkew(fm.Train.Labels, 10, parts))
}
