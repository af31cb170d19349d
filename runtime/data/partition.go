package data

import (
	"cmp"
	"errors"
	"fmt"
	"math"
	"slices"
	"strconv"
	"strings"
)

// Examples is what a partitioner may look at: the example count and, per
// example, its label (for Dirichlet) and its source (for by-source).
type Examples struct {
	N       int
	Labels  []int32
	Classes int
	Sources []int32
}

// Examples describes d for partitioning.
func (d *Dataset) Examples() Examples {
	return Examples{N: d.N, Labels: d.Labels, Classes: d.Classes}
}

// Examples describes s for partitioning (by source; no labels).
func (s *TextSet) Examples() Examples {
	return Examples{N: s.N, Sources: s.Source}
}

// Partition is a parsed partition flag: how a data set is split over
// simulated devices.
type Partition struct {
	Kind  string  // "iid", "dirichlet" or "source"
	Alpha float64 // Dirichlet concentration, for "dirichlet"
}

// ParsePartition parses the CLI's partition flag: "iid",
// "dirichlet:<alpha>" (alpha > 0; small alpha means strong label skew) or
// "source".
func ParsePartition(s string) (Partition, error) {
	const forms = `"iid", "dirichlet:<alpha>" (e.g. dirichlet:0.5) or "source"`
	kind, arg, hasArg := strings.Cut(strings.TrimSpace(s), ":")
	kind = strings.ToLower(kind)
	switch kind {
	case "iid", "source":
		if hasArg {
			return Partition{}, fmt.Errorf("partition %q: %s takes no parameter; want %s", s, kind, forms)
		}
		return Partition{Kind: kind}, nil
	case "dirichlet":
		if !hasArg || arg == "" {
			return Partition{}, fmt.Errorf("partition %q: dirichlet needs a concentration, e.g. dirichlet:0.5", s)
		}
		a, err := strconv.ParseFloat(arg, 64)
		if err != nil || !(a > 0) || math.IsInf(a, 0) {
			return Partition{}, fmt.Errorf("partition %q: alpha %q is not a positive finite number", s, arg)
		}
		return Partition{Kind: kind, Alpha: a}, nil
	}
	return Partition{}, fmt.Errorf("partition %q: unknown kind %q; want %s", s, kind, forms)
}

// String returns the flag form, which ParsePartition accepts.
func (p Partition) String() string {
	if p.Kind == "dirichlet" {
		return "dirichlet:" + strconv.FormatFloat(p.Alpha, 'g', -1, 64)
	}
	return p.Kind
}

// Split splits ex over devices and returns each device's example indices.
// Dirichlet gives every device at least min(10, N/(2*devices)) examples
// (at least one).
func (p Partition) Split(ex Examples, devices int, src Source) ([][]int, error) {
	switch p.Kind {
	case "iid":
		return PartitionIID(ex.N, devices, src)
	case "dirichlet":
		if ex.Labels == nil {
			return nil, errors.New("data: dirichlet partition needs labels; this data set has none (use iid or source)")
		}
		minPer := 1
		if devices > 0 {
			minPer = max(1, min(10, ex.N/(2*devices)))
		}
		return PartitionDirichlet(ex.Labels, ex.Classes, devices, p.Alpha, minPer, src)
	case "source":
		if ex.Sources == nil {
			return nil, errors.New("data: source partition needs per-example sources; this data set has none (use iid or dirichlet)")
		}
		return PartitionBySource(ex.Sources, devices, src)
	}
	return nil, fmt.Errorf("data: unknown partition kind %q", p.Kind)
}

func checkDevices(n, devices, minPer int) error {
	if devices < 1 {
		return fmt.Errorf("data: %d devices, want >= 1", devices)
	}
	if n < devices*minPer {
		return fmt.Errorf("data: %d examples cannot give each of %d devices at least %d", n, devices, minPer)
	}
	return nil
}

// PartitionIID shuffles the n examples and deals them into devices parts
// whose sizes differ by at most one.
func PartitionIID(n, devices int, src Source) ([][]int, error) {
	if err := checkDevices(n, devices, 1); err != nil {
		return nil, err
	}
	order := make([]int, n)
	for i := range order {
		order[i] = i
	}
	Shuffle(order, src)
	parts := make([][]int, devices)
	for d := range parts {
		parts[d] = order[d*n/devices : (d+1)*n/devices : (d+1)*n/devices]
	}
	return parts, nil
}

// PartitionDirichlet splits examples by label the usual way for non-IID
// federated experiments (Hsu et al. 2019): for each class, a proportion
// vector over devices is drawn from Dirichlet(alpha), and the class's
// examples (shuffled) are dealt out in those proportions. Small alpha gives
// each device few classes; large alpha approaches IID. Devices left with
// fewer than minPer examples then take them, one at a time, from the
// largest device, so every device can train. classes <= 0 means 1+max label.
func PartitionDirichlet(labels []int32, classes, devices int, alpha float64, minPer int, src Source) ([][]int, error) {
	if !(alpha > 0) || math.IsInf(alpha, 0) {
		return nil, fmt.Errorf("data: dirichlet alpha %v, want a positive finite number", alpha)
	}
	if err := checkDevices(len(labels), devices, max(minPer, 1)); err != nil {
		return nil, err
	}
	if classes <= 0 {
		for _, l := range labels {
			classes = max(classes, int(l)+1)
		}
	}
	byClass := make([][]int, classes)
	for i, l := range labels {
		if l < 0 || int(l) >= classes {
			return nil, fmt.Errorf("data: label %d at index %d is outside [0, %d)", l, i, classes)
		}
		byClass[l] = append(byClass[l], i)
	}
	parts := make([][]int, devices)
	p := make([]float64, devices)
	counts := make([]int, devices)
	for _, idx := range byClass {
		Shuffle(idx, src)
		dirichlet(src, alpha, p)
		apportion(len(idx), p, counts)
		off := 0
		for d, c := range counts {
			parts[d] = append(parts[d], idx[off:off+c]...)
			off += c
		}
	}
	for d := range parts {
		for len(parts[d]) < minPer {
			big := 0
			for e := range parts {
				if len(parts[e]) > len(parts[big]) {
					big = e
				}
			}
			last := len(parts[big]) - 1
			parts[d] = append(parts[d], parts[big][last])
			parts[big] = parts[big][:last]
		}
	}
	return parts, nil
}

// apportion splits n into counts proportional to p (summing to 1) by
// largest remainders, ties to the lower index: deterministic and exact.
func apportion(n int, p []float64, counts []int) {
	type rem struct {
		r float64
		i int
	}
	rems := make([]rem, len(p))
	total := 0
	for i, q := range p {
		x := float64(q * float64(n))
		counts[i] = int(x)
		total += counts[i]
		rems[i] = rem{x - float64(counts[i]), i}
	}
	slices.SortFunc(rems, func(a, b rem) int {
		if c := cmp.Compare(b.r, a.r); c != 0 {
			return c
		}
		return cmp.Compare(a.i, b.i)
	})
	for k := 0; total < n; k++ {
		counts[rems[k%len(rems)].i]++
		total++
	}
}

// PartitionBySource keeps each source (one text file) on its own group of
// devices. With at least as many devices as sources, every source gets one
// device and the rest are handed out in proportion to source size (D'Hondt),
// each source's examples then shuffled and dealt evenly over its devices.
// With fewer devices than sources, whole sources are packed onto devices,
// largest first onto the least loaded. Devices are ordered by source.
func PartitionBySource(sources []int32, devices int, src Source) ([][]int, error) {
	if err := checkDevices(len(sources), devices, 1); err != nil {
		return nil, err
	}
	groups := map[int32][]int{}
	var ids []int32
	for i, s := range sources {
		if _, ok := groups[s]; !ok {
			ids = append(ids, s)
		}
		groups[s] = append(groups[s], i)
	}
	slices.Sort(ids)
	if devices < len(ids) {
		bySize := slices.Clone(ids)
		slices.SortStableFunc(bySize, func(a, b int32) int { return cmp.Compare(len(groups[b]), len(groups[a])) })
		parts := make([][]int, devices)
		for _, g := range bySize {
			least := 0
			for d := range parts {
				if len(parts[d]) < len(parts[least]) {
					least = d
				}
			}
			parts[least] = append(parts[least], groups[g]...)
		}
		return parts, nil
	}
	// D'Hondt: the next device goes to the group with the most examples per
	// device it would have; groups never get more devices than examples.
	seats := make([]int, len(ids))
	for k := range seats {
		seats[k] = 1
	}
	for extra := devices - len(ids); extra > 0; extra-- {
		best := -1
		for k, g := range ids {
			if seats[k] >= len(groups[g]) {
				continue
			}
			// Compare len_k/(seats_k+1) exactly by cross-multiplying.
			if best < 0 || len(groups[g])*(seats[best]+1) > len(groups[ids[best]])*(seats[k]+1) {
				best = k
			}
		}
		seats[best]++ // best >= 0 since devices <= number of examples
	}
	var parts [][]int
	for k, g := range ids {
		idx := slices.Clone(groups[g])
		Shuffle(idx, src)
		n, s := len(idx), seats[k]
		for d := range s {
			parts = append(parts, idx[d*n/s:(d+1)*n/s:(d+1)*n/s])
		}
	}
	return parts, nil
}

// LabelSkew measures how far the devices' label distributions are from the
// overall one: the mean, over non-empty devices, of the total variation
// distance (0 = IID, 1 = disjoint).
func LabelSkew(labels []int32, classes int, parts [][]int) float64 {
	global := make([]float64, classes)
	for _, l := range labels {
		global[l]++
	}
	for c := range global {
		global[c] /= float64(len(labels))
	}
	local := make([]float64, classes)
	sum, devs := 0.0, 0
	for _, p := range parts {
		if len(p) == 0 {
			continue
		}
		clear(local)
		for _, i := range p {
			local[labels[i]]++
		}
		tv := 0.0
		for c := range local {
			tv += math.Abs(local[c]/float64(len(p)) - global[c])
		}
		sum += tv / 2
		devs++
	}
	if devs == 0 {
		return 0
	}
	return sum / float64(devs)
}
