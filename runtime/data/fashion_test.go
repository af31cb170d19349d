package data

import (
	"errors"
	"math"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
)

// writeFashion writes a tiny Fashion-MNIST-shaped set (n images of 2x3).
func writeFashion(t *testing.T, dir, trainImg, trainLab, testImg, testLab string, gzipped bool) {
	t.Helper()
	write := func(name string, dims []int, payload []byte) {
		b := makeIDX(dims, payload)
		if gzipped {
			b = gz(t, b)
		}
		writeFile(t, filepath.Join(dir, name), b)
	}
	write(trainImg, []int{3, 2, 3}, []byte{0, 255, 51, 102, 153, 204, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12})
	write(trainLab, []int{3}, []byte{9, 0, 4})
	write(testImg, []int{1, 2, 3}, []byte{255, 255, 255, 0, 0, 0})
	write(testLab, []int{1}, []byte{7})
}

func TestLoadFashionMNISTNamingConventions(t *testing.T) {
	for _, c := range []struct {
		names [4]string
		gz    bool
	}{
		{[4]string{"train-images-idx3-ubyte.gz", "train-labels-idx1-ubyte.gz", "t10k-images-idx3-ubyte.gz", "t10k-labels-idx1-ubyte.gz"}, true},
		{[4]string{"train-images.idx3-ubyte", "train-labels.idx1-ubyte", "t10k-images.idx3-ubyte", "t10k-labels.idx1-ubyte"}, false},
		{[4]string{"train-images-idx3-ubyte", "train-labels-idx1-ubyte", "test-images-idx3-ubyte.gz", "test-labels-idx1-ubyte.gz"}, true},
	} {
		dir := t.TempDir()
		writeFashion(t, dir, c.names[0], c.names[1], c.names[2], c.names[3], c.gz)
		fm, err := LoadFashionMNIST(dir)
		if err != nil {
			t.Fatalf("%v: %v", c.names, err)
		}
		tr := fm.Train
		if tr.N != 3 || tr.Dim != 6 || len(tr.X) != 18 || tr.Classes != 10 || tr.Shape[0] != 1 || tr.Shape[1] != 2 || tr.Shape[2] != 3 {
			t.Fatalf("%v: train set %d x %d shape %v", c.names, tr.N, tr.Dim, tr.Shape)
		}
		if tr.X[0] != 0 || tr.X[1] != 1 || math.Abs(float64(tr.X[2])-0.2) > 1e-7 {
			t.Errorf("pixels not scaled to [0,1]: %v", tr.X[:3])
		}
		if tr.Labels[0] != 9 || tr.Labels[2] != 4 || fm.Test.Labels[0] != 7 || fm.Test.N != 1 {
			t.Errorf("labels %v / %v", tr.Labels, fm.Test.Labels)
		}
	}
}

func TestLoadFashionMNISTErrors(t *testing.T) {
	dir := t.TempDir()
	_, err := LoadFashionMNIST(dir)
	if !errors.Is(err, ErrNotFound) || !strings.Contains(err.Error(), "train-images-idx3-ubyte.gz") {
		t.Errorf("empty dir: %v", err)
	}
	// Label out of range.
	writeFashion(t, dir, "train-images-idx3-ubyte", "train-labels-idx1-ubyte", "t10k-images-idx3-ubyte", "t10k-labels-idx1-ubyte", false)
	writeFile(t, filepath.Join(dir, "t10k-labels-idx1-ubyte"), makeIDX([]int{1}, []byte{10}))
	if _, err := LoadFashionMNIST(dir); err == nil || !strings.Contains(err.Error(), "label 10") {
		t.Errorf("bad label: %v", err)
	}
	// Count mismatch between images and labels.
	writeFile(t, filepath.Join(dir, "t10k-labels-idx1-ubyte"), makeIDX([]int{2}, []byte{1, 2}))
	if _, err := LoadFashionMNIST(dir); err == nil || !strings.Contains(err.Error(), "1 images but") {
		t.Errorf("count mismatch: %v", err)
	}
	// Labels file given as images.
	writeFile(t, filepath.Join(dir, "t10k-images-idx3-ubyte"), makeIDX([]int{2}, []byte{1, 2}))
	if _, err := LoadFashionMNIST(dir); err == nil || !strings.Contains(err.Error(), "3 dimensions") {
		t.Errorf("wrong rank: %v", err)
	}
}

func TestFashionMNISTDirEnv(t *testing.T) {
	dir := t.TempDir()
	t.Setenv("MURMUR_FASHION_DIR", dir)
	_, err := FashionMNISTDir()
	if !errors.Is(err, ErrNotFound) || !strings.Contains(err.Error(), dir) || !strings.Contains(err.Error(), "apt-get install dataset-fashion-mnist") {
		t.Errorf("error should name %s and the package: %v", dir, err)
	}
	writeFashion(t, dir, "train-images-idx3-ubyte.gz", "train-labels-idx1-ubyte.gz", "t10k-images-idx3-ubyte.gz", "t10k-labels-idx1-ubyte.gz", true)
	got, err := FashionMNISTDir()
	if err != nil || got != dir {
		t.Errorf("FashionMNISTDir() = %q, %v; want %q", got, err, dir)
	}
	fm, err := LoadFashionMNIST("")
	if err != nil || fm.Train.N != 3 {
		t.Errorf("LoadFashionMNIST(\"\") via env: %v", err)
	}
}

var realFashionOnce struct {
	sync.Once
	fm          *FashionMNIST
	dir         string
	err, dirErr error
}

// realFashion loads the installed Fashion-MNIST once per test binary.
func realFashion(t testing.TB) *FashionMNIST {
	t.Helper()
	o := &realFashionOnce
	o.Do(func() {
		o.dir, o.dirErr = FashionMNISTDir()
		if o.dirErr == nil {
			o.fm, o.err = LoadFashionMNIST(o.dir)
		}
	})
	if o.dirErr != nil {
		t.Skipf("real Fashion-MNIST absent (%v); install it with `apt-get install -y dataset-fashion-mnist`", o.dirErr)
	}
	if o.err != nil {
		t.Fatal(o.err)
	}
	return o.fm
}

func BenchmarkLoadFashionMNIST(b *testing.B) {
	dir, err := FashionMNISTDir()
	if err != nil {
		b.Skipf("real Fashion-MNIST absent (%v); install it with `apt-get install -y dataset-fashion-mnist`", err)
	}
	b.ReportAllocs()
	for b.Loop() {
		if _, err := LoadFashionMNIST(dir); err != nil {
			b.Fatal(err)
		}
	}
}

func TestRealFashionMNIST(t *testing.T) {
	fm := realFashion(t)
	if fm.Train.N != 60000 || fm.Test.N != 10000 || fm.Train.Dim != 784 || len(fm.Train.X) != 60000*784 {
		t.Fatalf("sizes: train %d x %d, test %d", fm.Train.N, fm.Train.Dim, fm.Test.N)
	}
	// Fashion-MNIST is balanced: 6000 and 1000 per class.
	for _, s := range []struct {
		d    *Dataset
		want int
	}{{fm.Train, 6000}, {fm.Test, 1000}} {
		var count [10]int
		for _, l := range s.d.Labels {
			count[l]++
		}
		for c, n := range count {
			if n != s.want {
				t.Errorf("class %d (%s): %d examples, want %d", c, FashionClasses[c], n, s.want)
			}
		}
	}
	var sum float64
	for _, v := range fm.Test.X {
		if v < 0 || v > 1 {
			t.Fatalf("pixel %v outside [0,1]", v)
		}
		sum += float64(v)
	}
	// The mean pixel of Fashion-MNIST is about 0.286.
	if m := sum / float64(len(fm.Test.X)); m < 0.27 || m > 0.30 {
		t.Errorf("mean test pixel %.4f, want about 0.286", m)
	}
	// Known first labels of the upstream files: train starts 9 0 0 3, test 9 2 1 1.
	if l := fm.Train.Labels[:4]; l[0] != 9 || l[1] != 0 || l[2] != 0 || l[3] != 3 {
		t.Errorf("first train labels %v", l)
	}
	if l := fm.Test.Labels[:4]; l[0] != 9 || l[1] != 2 || l[2] != 1 || l[3] != 1 {
		t.Errorf("first test labels %v", l)
	}
}

func TestReadFashionBaselines(t *testing.T) {
	p := filepath.Join(t.TempDir(), "baselines.json")
	writeFile(t, p, []byte(`{"common":{},"classifiers":{"SVC":[{"C":[1.0,10.0]},{"kernel":["rbf","poly"]}]}}`))
	b, err := ReadFashionBaselines(p)
	if err != nil {
		t.Fatal(err)
	}
	if axes := b.Classifiers["SVC"]; len(axes) != 2 || len(axes[0]["C"]) != 2 || string(axes[1]["kernel"][0]) != `"rbf"` {
		t.Errorf("parsed %+v", b.Classifiers)
	}
	writeFile(t, p, []byte(`{"classifiers":`))
	if _, err := ReadFashionBaselines(p); err == nil || !strings.Contains(err.Error(), p) {
		t.Errorf("truncated json: %v", err)
	}
	if _, err := ReadFashionBaselines(filepath.Join(t.TempDir(), "nope.json")); !errors.Is(err, ErrNotFound) {
		t.Errorf("missing: %v", err)
	}
	if _, err := os.Stat(DebianFashionBaselines); err != nil {
		t.Skipf("Debian baselines.json absent (%v); install it with `apt-get install -y dataset-fashion-mnist`", err)
	}
	real, err := ReadFashionBaselines("")
	if err != nil {
		t.Fatal(err)
	}
	if _, ok := real.Classifiers["MLPClassifier"]; !ok || len(real.Classifiers) < 10 {
		t.Errorf("Debian baselines: %d classifiers, no MLPClassifier?", len(real.Classifiers))
	}
}
