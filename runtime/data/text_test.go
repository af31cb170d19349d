package data

import (
	"errors"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
)

func TestParseFortunes(t *testing.T) {
	in := "First one.\n  second line\n%\n%\nB\bBo\bol\bld _\bu_\bn\n%\nlast, no trailing separator"
	docs, err := ParseFortunes(strings.NewReader(in), "src")
	if err != nil {
		t.Fatal(err)
	}
	want := []string{"First one.\n  second line", "Bold un", "last, no trailing separator"}
	if len(docs) != len(want) {
		t.Fatalf("got %d documents: %q", len(docs), docs)
	}
	for i, d := range docs {
		if d.Text != want[i] || d.Source != "src" {
			t.Errorf("doc %d = %q from %q, want %q", i, d.Text, d.Source, want[i])
		}
	}
	if _, err := ParseFortunes(strings.NewReader("a\x00b"), "x.dat"); err == nil || !strings.Contains(err.Error(), "x.dat") {
		t.Errorf("binary input: %v", err)
	}
}

func TestTokenize(t *testing.T) {
	cases := []struct {
		in    string
		punct bool
		want  string
	}{
		{"Don't PANIC -- it's 4:30, o'clock!", false, "don't panic it's 4 30 o'clock"},
		{"Don't PANIC -- it's 4:30, o'clock!", true, "don't panic it's 4 : 30 , o'clock !"},
		{"Wait... what?!  'quoted' rock'n'roll", true, "wait . what ? ! quoted rock'n'roll"},
		{"Ünïcode ÉCOLE naïve", false, "ünïcode école naïve"},
		{"", true, ""},
		{"trailing'", false, "trailing"},
	}
	for _, c := range cases {
		if got := strings.Join(Tokenize(c.in, c.punct), " "); got != c.want {
			t.Errorf("Tokenize(%q, %v) = %q, want %q", c.in, c.punct, got, c.want)
		}
	}
}

func TestBuildVocab(t *testing.T) {
	docs := [][]string{{"b", "a", "c", "a"}, {"c", "d", "b", "e"}}
	v, err := BuildVocab(docs, 6)
	if err != nil {
		t.Fatal(err)
	}
	// a, b, c each twice: ties broken alphabetically; d and e cut.
	if got := strings.Join(v.Words, " "); got != "<unk> <bos> <eos> a b c" {
		t.Errorf("vocab %q", got)
	}
	if v.ID("c") != 5 || v.ID("d") != UnkID || v.ID("<bos>") != UnkID || v.Size() != 6 {
		t.Errorf("ids: c=%d d=%d <bos>=%d", v.ID("c"), v.ID("d"), v.ID("<bos>"))
	}
	if _, err := BuildVocab(docs, 3); err == nil {
		t.Error("size 3 accepted")
	}
	if _, err := NewVocab([]string{"<unk>", "<bos>", "<eos>", "x", "x"}); err == nil {
		t.Error("duplicate word accepted")
	}
	again, err := NewVocab(v.Words)
	if err != nil || again.ID("b") != v.ID("b") {
		t.Errorf("NewVocab round trip: %v", err)
	}
}

func TestTextCorpusSequences(t *testing.T) {
	docs := []Document{
		{"a", "x y z"}, {"a", "y y"},
		{"b", "z"},
	}
	c, err := NewTextCorpus(docs, TextOptions{VocabSize: 10, SeqLen: 3, HeldOut: -1})
	if err != nil {
		t.Fatal(err)
	}
	// Vocab: y (3), z (2), x (1).
	if got := strings.Join(c.Vocab.Words, " "); got != "<unk> <bos> <eos> y z x" {
		t.Fatalf("vocab %q", got)
	}
	// Source a stream: bos x y z eos bos y y eos = 1 5 3 4 2 1 3 3 2 (9 tokens)
	// -> sequences [1 5 3]->[5 3 4] and [4 2 1]->[2 1 3]; the rest is dropped.
	// Source b stream: 1 4 2 (3 tokens) -> too short for seq 3 + 1.
	tr := c.Train
	if tr.N != 2 || tr.Seq != 3 {
		t.Fatalf("N=%d Seq=%d", tr.N, tr.Seq)
	}
	if !slices.Equal(tr.Tokens, []int32{1, 5, 3, 4, 2, 1}) || !slices.Equal(tr.Targets, []int32{5, 3, 4, 2, 1, 3}) {
		t.Errorf("tokens %v targets %v", tr.Tokens, tr.Targets)
	}
	if !slices.Equal(tr.Source, []int32{0, 0}) || !slices.Equal(tr.Sources, []string{"a", "b"}) {
		t.Errorf("sources %v %v", tr.Source, tr.Sources)
	}
	if c.Test.N != 0 {
		t.Errorf("held-out set has %d sequences with HeldOut < 0", c.Test.N)
	}
	var b Batch
	tr.Gather(&b, []int{1})
	if b.N != 1 || !slices.Equal(b.Tokens, []int32{4, 2, 1}) || !slices.Equal(b.Labels, []int32{2, 1, 3}) {
		t.Errorf("gather: %+v", b)
	}
	if _, err := NewTextCorpus(docs, TextOptions{HeldOut: 1}); err == nil {
		t.Error("held-out fraction 1 accepted")
	}
}

func TestTextCorpusHeldOut(t *testing.T) {
	var docs []Document
	for i := range 200 {
		docs = append(docs, Document{Source: []string{"p", "q"}[i%2], Text: strings.Repeat("w"+string(rune('a'+i%26))+" ", 5+i%7)})
	}
	opt := TextOptions{VocabSize: 50, SeqLen: 4, HeldOut: 0.2, Seed: 9}
	c1, err := NewTextCorpus(docs, opt)
	if err != nil {
		t.Fatal(err)
	}
	c2, _ := NewTextCorpus(docs, opt)
	if !slices.Equal(c1.Train.Tokens, c2.Train.Tokens) || !slices.Equal(c1.Test.Tokens, c2.Test.Tokens) {
		t.Error("same seed gave different splits")
	}
	opt.Seed = 10
	c3, _ := NewTextCorpus(docs, opt)
	if slices.Equal(c1.Test.Tokens, c3.Test.Tokens) {
		t.Error("different seeds gave the same held-out set")
	}
	// About 20% of the tokens are held out, from both sources.
	frac := float64(c1.Test.N) / float64(c1.Test.N+c1.Train.N)
	if frac < 0.12 || frac > 0.28 {
		t.Errorf("held-out fraction %.2f, want about 0.2", frac)
	}
	if !slices.Contains(c1.Test.Source, 0) || !slices.Contains(c1.Test.Source, 1) {
		t.Error("held-out set misses a source")
	}
}

func TestFortunesDir(t *testing.T) {
	dir := t.TempDir()
	t.Setenv("MURMUR_FORTUNES_DIR", dir)
	if _, err := FortunesDir(); !errors.Is(err, ErrNotFound) || !strings.Contains(err.Error(), dir) || !strings.Contains(err.Error(), "apt-get install fortunes") {
		t.Errorf("empty dir: %v", err)
	}
	writeFile(t, filepath.Join(dir, "pets"), []byte("Dogs bark.\n%\nCats purr.\n"))
	writeFile(t, filepath.Join(dir, "pets.dat"), []byte("\x00\x00\x00\x02binary"))
	writeFile(t, filepath.Join(dir, ".hidden"), []byte("nope"))
	if err := os.Symlink("pets", filepath.Join(dir, "pets.u8")); err != nil {
		t.Fatal(err)
	}
	if err := os.Mkdir(filepath.Join(dir, "off"), 0o755); err != nil {
		t.Fatal(err)
	}
	writeFile(t, filepath.Join(dir, "off", "rude"), []byte("Shh.\n"))
	writeFile(t, filepath.Join(dir, "art"), []byte("Paint.\n"))
	got, err := FortunesDir()
	if err != nil || got != dir {
		t.Fatalf("FortunesDir() = %q, %v", got, err)
	}
	docs, err := ReadFortunes("")
	if err != nil {
		t.Fatal(err)
	}
	var s []string
	for _, d := range docs {
		s = append(s, d.Source+":"+d.Text)
	}
	if got := strings.Join(s, "|"); got != "art:Paint.|pets:Dogs bark.|pets:Cats purr." {
		t.Errorf("read %q", got)
	}
}

func realFortunes(t *testing.T) []Document {
	t.Helper()
	dir, err := FortunesDir()
	if err != nil {
		t.Skipf("fortunes texts absent (%v); install them with `apt-get install -y fortunes`", err)
	}
	docs, err := ReadFortunes(dir)
	if err != nil {
		t.Fatal(err)
	}
	return docs
}

func TestRealFortunes(t *testing.T) {
	docs := realFortunes(t)
	c, err := NewTextCorpus(docs, TextOptions{Seed: 1})
	if err != nil {
		t.Fatal(err)
	}
	if len(c.Train.Sources) < 20 {
		t.Errorf("only %d sources", len(c.Train.Sources))
	}
	if c.Vocab.Size() != 2000 || c.Vocab.Words[3] != "the" {
		t.Errorf("vocab size %d, most common word %q", c.Vocab.Size(), c.Vocab.Words[3])
	}
	if c.Train.N < 5000 || c.Test.N < 300 {
		t.Errorf("train %d, test %d sequences", c.Train.N, c.Test.N)
	}
	unk := 0
	for _, id := range c.Train.Tokens {
		if id == UnkID {
			unk++
		}
		if id < 0 || int(id) >= c.Vocab.Size() {
			t.Fatalf("token id %d out of range", id)
		}
	}
	rate := float64(unk) / float64(len(c.Train.Tokens))
	if rate > 0.25 {
		t.Errorf("unknown-word rate %.3f with a 2000-word vocabulary", rate)
	}
	t.Logf("fortunes: %d docs, %d sources, train %d seqs, test %d seqs, <unk> rate %.3f",
		len(docs), len(c.Train.Sources), c.Train.N, c.Test.N, rate)
}
