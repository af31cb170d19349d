package data

import (
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
)

// Dataset is a labelled set of fixed-size examples.
type Dataset struct {
	// X holds N*Dim features, example-major (example i is X[i*Dim:(i+1)*Dim]).
	X []float32
	// Labels holds N class ids in [0, Classes).
	Labels []int32
	// N is the number of examples and Dim the features per example.
	N, Dim int
	// Shape is the per-example shape, product Dim; for images it is
	// channels, height, width ([1 28 28] for Fashion-MNIST).
	Shape []int
	// Classes is the number of distinct labels.
	Classes int
}

// Len returns the number of examples.
func (d *Dataset) Len() int { return d.N }

// Gather copies the examples at idx into b, reusing b's buffers.
func (d *Dataset) Gather(b *Batch, idx []int) {
	b.X = growF32(b.X, len(idx)*d.Dim)
	b.Labels = growI32(b.Labels, len(idx))
	b.Tokens = b.Tokens[:0]
	for k, i := range idx {
		copy(b.X[k*d.Dim:(k+1)*d.Dim], d.X[i*d.Dim:(i+1)*d.Dim])
		b.Labels[k] = d.Labels[i]
	}
	b.N = len(idx)
}

// FashionMNIST is the Fashion-MNIST data set: 60,000 training and 10,000
// test images of 28x28 grey pixels scaled to [0, 1], ten clothing classes.
type FashionMNIST struct {
	Train, Test *Dataset
}

// FashionClasses names the ten Fashion-MNIST labels, by label id.
var FashionClasses = [10]string{
	"T-shirt/top", "Trouser", "Pullover", "Dress", "Coat",
	"Sandal", "Shirt", "Sneaker", "Bag", "Ankle boot",
}

// DebianFashionDir is where Debian's dataset-fashion-mnist package installs
// the four IDX files.
const DebianFashionDir = "/usr/share/datasets/fashion-mnist"

// DebianFashionBaselines is the benchmark grid shipped with the Debian
// package's documentation.
const DebianFashionBaselines = "/usr/share/doc/dataset-fashion-mnist/benchmark/baselines.json"

// ErrNotFound is wrapped when a data set is not where we looked.
var ErrNotFound = errors.New("data set not found")

// FashionMNISTDir returns the directory holding the Fashion-MNIST files:
// $MURMUR_FASHION_DIR if set, otherwise Debian's location. The error says
// where it looked and how to install the data.
func FashionMNISTDir() (string, error) {
	return findDir("MURMUR_FASHION_DIR", DebianFashionDir, "Fashion-MNIST",
		"apt-get install dataset-fashion-mnist", func(dir string) bool {
			_, err := fashionFiles(dir)
			return err == nil
		})
}

func findDir(env, debian, what, install string, ok func(string) bool) (string, error) {
	if d := os.Getenv(env); d != "" {
		if ok(d) {
			return d, nil
		}
		return "", fmt.Errorf("%w: %s: $%s=%s does not hold it (install it with `%s`, or point $%s at a copy)",
			ErrNotFound, what, env, d, install, env)
	}
	if ok(debian) {
		return debian, nil
	}
	return "", fmt.Errorf("%w: %s: $%s is unset and %s does not hold it; install it with `%s` or set $%s",
		ErrNotFound, what, env, debian, install, env)
}

// fashionNames lists, for each of the four files, the names they go by: the
// upstream "t10k-images-idx3-ubyte" style and the dotted
// "t10k-images.idx3-ubyte" style, each with or without .gz, plus "test" for
// "t10k".
func fashionNames(split, kind string) []string {
	ext := map[string]string{"images": "idx3-ubyte", "labels": "idx1-ubyte"}[kind]
	prefixes := []string{split}
	if split == "t10k" {
		prefixes = append(prefixes, "test")
	}
	var out []string
	for _, p := range prefixes {
		for _, sep := range []string{"-", "."} {
			base := p + "-" + kind + sep + ext
			out = append(out, base+".gz", base)
		}
	}
	return out
}

// fashionFiles returns the paths of train images, train labels, test images
// and test labels in dir.
func fashionFiles(dir string) ([4]string, error) {
	var paths [4]string
	i := 0
	for _, split := range []string{"train", "t10k"} {
		for _, kind := range []string{"images", "labels"} {
			names := fashionNames(split, kind)
			for _, n := range names {
				p := filepath.Join(dir, n)
				if st, err := os.Stat(p); err == nil && st.Mode().IsRegular() {
					paths[i] = p
					break
				}
			}
			if paths[i] == "" {
				return paths, fmt.Errorf("%w: no %s %s file in %s (looked for %s)", ErrNotFound, split, kind, dir, strings.Join(names, ", "))
			}
			i++
		}
	}
	return paths, nil
}

// LoadFashionMNIST reads the four Fashion-MNIST IDX files from dir. An empty
// dir means FashionMNISTDir().
func LoadFashionMNIST(dir string) (*FashionMNIST, error) {
	if dir == "" {
		d, err := FashionMNISTDir()
		if err != nil {
			return nil, err
		}
		dir = d
	}
	p, err := fashionFiles(dir)
	if err != nil {
		return nil, err
	}
	train, err := LoadImageSet(p[0], p[1], 10)
	if err != nil {
		return nil, err
	}
	test, err := LoadImageSet(p[2], p[3], 10)
	if err != nil {
		return nil, err
	}
	if train.Dim != test.Dim {
		return nil, fmt.Errorf("%w: %s has %v images but %s has %v", ErrIDX, p[0], train.Shape, p[2], test.Shape)
	}
	return &FashionMNIST{Train: train, Test: test}, nil
}

// LoadImageSet reads an MNIST-style pair of IDX files: images (N x H x W
// bytes, scaled to [0, 1]) and labels (N bytes, each below classes).
func LoadImageSet(imagesPath, labelsPath string, classes int) (*Dataset, error) {
	img, err := ReadIDXFile(imagesPath)
	if err != nil {
		return nil, err
	}
	lab, err := ReadIDXFile(labelsPath)
	if err != nil {
		return nil, err
	}
	return NewImageSet(img, lab, classes, imagesPath, labelsPath)
}

// NewImageSet checks decoded image and label IDX data against each other
// and converts them into a Dataset. The names are used in errors.
func NewImageSet(img, lab *IDX, classes int, imagesName, labelsName string) (*Dataset, error) {
	if len(img.Dims) != 3 {
		return nil, fmt.Errorf("%w %s: images need 3 dimensions (count, rows, cols), header has %v", ErrIDX, imagesName, img.Dims)
	}
	if len(lab.Dims) != 1 {
		return nil, fmt.Errorf("%w %s: labels need 1 dimension (count), header has %v", ErrIDX, labelsName, lab.Dims)
	}
	if img.Dims[0] != lab.Dims[0] {
		return nil, fmt.Errorf("%w: %s has %d images but %s has %d labels", ErrIDX, imagesName, img.Dims[0], labelsName, lab.Dims[0])
	}
	n, dim := img.Dims[0], img.Dims[1]*img.Dims[2]
	labels := make([]int32, n)
	for i, v := range lab.Data {
		if int(v) >= classes {
			return nil, fmt.Errorf("%w %s: label %d at index %d is not below %d classes", ErrIDX, labelsName, v, i, classes)
		}
		labels[i] = int32(v)
	}
	return &Dataset{
		X: bytesToUnit(img.Data), Labels: labels, N: n, Dim: dim,
		Shape: []int{1, img.Dims[1], img.Dims[2]}, Classes: classes,
	}, nil
}

// bytesToUnit maps pixel bytes to float32 in [0, 1] (v/255).
func bytesToUnit(b []byte) []float32 {
	var lut [256]float32
	for i := range lut {
		lut[i] = float32(i) / 255
	}
	out := make([]float32, len(b))
	for i, v := range b {
		out[i] = lut[v]
	}
	return out
}

// FashionBaselines is the benchmark/baselines.json grid shipped with the
// Fashion-MNIST sources: for each scikit-learn classifier, the list of
// hyper-parameter axes ({parameter: values}) that the upstream benchmark
// sweeps. It holds no accuracies; upstream publishes those separately.
type FashionBaselines struct {
	Common      map[string]json.RawMessage                `json:"common"`
	Classifiers map[string][]map[string][]json.RawMessage `json:"classifiers"`
}

// ReadFashionBaselines parses a baselines.json file. An empty path means
// Debian's copy.
func ReadFashionBaselines(path string) (*FashionBaselines, error) {
	if path == "" {
		path = DebianFashionBaselines
	}
	raw, err := os.ReadFile(path)
	if errors.Is(err, fs.ErrNotExist) {
		return nil, fmt.Errorf("%w: %s (install it with `apt-get install dataset-fashion-mnist`)", ErrNotFound, path)
	}
	if err != nil {
		return nil, err
	}
	return ParseFashionBaselines(raw, path)
}

// ParseFashionBaselines parses the contents of a baselines.json file; name
// is used in errors.
func ParseFashionBaselines(raw []byte, name string) (*FashionBaselines, error) {
	var b FashionBaselines
	if err := json.Unmarshal(raw, &b); err != nil {
		return nil, fmt.Errorf("%s: %v", name, err)
	}
	if len(b.Classifiers) == 0 {
		return nil, fmt.Errorf("%s: no \"classifiers\" entries", name)
	}
	return &b, nil
}

func growF32(s []float32, n int) []float32 {
	if cap(s) < n {
		return make([]float32, n)
	}
	return s[:n]
}

func growI32(s []int32, n int) []int32 {
	if cap(s) < n {
		return make([]int32, n)
	}
	return s[:n]
}
