package data

import (
	"bufio"
	"bytes"
	"cmp"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"unicode"
	"unicode/utf8"
)

// DebianFortunesDir is where Debian's fortunes package installs its texts.
const DebianFortunesDir = "/usr/share/games/fortunes"

// maxFortuneFile caps one text file (the largest Debian file is ~250 KB).
const maxFortuneFile = 64 << 20

// Special token ids, the first entries of every Vocab.
const (
	UnkID int32 = 0 // a word outside the vocabulary
	BOSID int32 = 1 // start of a fortune
	EOSID int32 = 2 // end of a fortune
)

// Document is one text (one fortune) and where it came from.
type Document struct {
	Source string // the file it came from, e.g. "computers"
	Text   string
}

// FortunesDir returns the directory holding fortune text files:
// $MURMUR_FORTUNES_DIR if set, otherwise Debian's location. The error says
// where it looked and how to install the texts.
func FortunesDir() (string, error) {
	return findDir("MURMUR_FORTUNES_DIR", DebianFortunesDir, "fortunes texts",
		"apt-get install fortunes", func(dir string) bool {
			names, err := fortuneFiles(dir)
			return err == nil && len(names) > 0
		})
}

// fortuneFiles lists the text files of a fortunes directory, sorted: regular
// files that are not hidden and not the strfile indexes (.dat) or the UTF-8
// symlinks (.u8). Subdirectories (such as off/) are not read.
func fortuneFiles(dir string) ([]string, error) {
	ents, err := os.ReadDir(dir)
	if err != nil {
		return nil, err
	}
	var out []string
	for _, e := range ents {
		n := e.Name()
		if !e.Type().IsRegular() || strings.HasPrefix(n, ".") || strings.HasSuffix(n, ".dat") || strings.HasSuffix(n, ".u8") {
			continue
		}
		out = append(out, n)
	}
	slices.Sort(out)
	return out, nil
}

// ReadFortunes reads every fortune text file in dir (see FortunesDir for an
// empty dir), in file-name order. Each document's Source is its file name.
func ReadFortunes(dir string) ([]Document, error) {
	if dir == "" {
		d, err := FortunesDir()
		if err != nil {
			return nil, err
		}
		dir = d
	}
	names, err := fortuneFiles(dir)
	if err != nil {
		return nil, fmt.Errorf("reading fortunes: %w", err)
	}
	if len(names) == 0 {
		return nil, fmt.Errorf("%w: no fortune text files in %s (install them with `apt-get install fortunes`)", ErrNotFound, dir)
	}
	var docs []Document
	for _, n := range names {
		f, err := os.Open(filepath.Join(dir, n))
		if err != nil {
			return nil, err
		}
		d, err := ParseFortunes(f, n)
		f.Close()
		if err != nil {
			return nil, fmt.Errorf("%s: %w", filepath.Join(dir, n), err)
		}
		docs = append(docs, d...)
	}
	return docs, nil
}

// ParseFortunes splits a fortune file into documents: fortunes are separated
// by lines holding only "%". Backspace overstrike sequences (used for bold
// and underline in some files) are resolved, and empty fortunes dropped.
func ParseFortunes(r io.Reader, source string) ([]Document, error) {
	raw, err := io.ReadAll(io.LimitReader(r, maxFortuneFile+1))
	if err != nil {
		return nil, err
	}
	if len(raw) > maxFortuneFile {
		return nil, fmt.Errorf("fortune file %s is larger than %d bytes", source, maxFortuneFile)
	}
	if bytes.IndexByte(raw, 0) >= 0 {
		return nil, fmt.Errorf("fortune file %s holds NUL bytes (a binary .dat index?)", source)
	}
	var docs []Document
	var cur strings.Builder
	flush := func() {
		if t := strings.TrimSpace(cur.String()); t != "" {
			docs = append(docs, Document{Source: source, Text: t})
		}
		cur.Reset()
	}
	sc := bufio.NewScanner(bytes.NewReader(raw))
	sc.Buffer(make([]byte, 0, 64<<10), maxFortuneFile)
	for sc.Scan() {
		line := strings.TrimRight(sc.Text(), "\r")
		if line == "%" {
			flush()
			continue
		}
		cur.WriteString(unstrike(line))
		cur.WriteByte('\n')
	}
	if err := sc.Err(); err != nil {
		return nil, fmt.Errorf("fortune file %s: %w", source, err)
	}
	flush()
	return docs, nil
}

// unstrike resolves backspaces: "_\bx" and "x\bx" both become "x".
func unstrike(s string) string {
	if !strings.ContainsRune(s, '\b') {
		return s
	}
	out := make([]rune, 0, len(s))
	for _, r := range s {
		if r == '\b' {
			if len(out) > 0 {
				out = out[:len(out)-1]
			}
			continue
		}
		out = append(out, r)
	}
	return string(out)
}

// punctTokens are the punctuation marks kept as tokens with Punctuation set.
const punctTokens = ".,!?;:"

// Tokenize splits text into lowercased word tokens. A word is a run of
// letters and digits, with inner apostrophes kept ("don't", "o'clock");
// everything else separates words. With punct, each run of one of . , ! ? ;
// : becomes a single token of that mark ("..." gives one "."). The same
// text always yields the same tokens.
func Tokenize(text string, punct bool) []string {
	var toks []string
	var w strings.Builder
	endWord := func() {
		if w.Len() > 0 {
			toks = append(toks, w.String())
			w.Reset()
		}
	}
	var lastPunct rune
	for i := 0; i < len(text); {
		r, size := utf8.DecodeRuneInString(text[i:])
		i += size
		switch {
		case unicode.IsLetter(r) || unicode.IsDigit(r):
			w.WriteRune(unicode.ToLower(r))
			lastPunct = 0
		case (r == '\'' || r == '’') && w.Len() > 0 && i < len(text):
			next, _ := utf8.DecodeRuneInString(text[i:])
			if unicode.IsLetter(next) {
				w.WriteByte('\'')
			} else {
				endWord()
			}
			lastPunct = 0
		default:
			endWord()
			if punct && strings.ContainsRune(punctTokens, r) {
				if r != lastPunct {
					toks = append(toks, string(r))
				}
				lastPunct = r
			} else if !unicode.IsSpace(r) {
				lastPunct = 0
			}
		}
	}
	endWord()
	return toks
}

// Vocab maps words to token ids: the special tokens <unk>, <bos>, <eos>
// (ids 0, 1, 2), then words by descending frequency, ties in byte order.
type Vocab struct {
	Words []string
	ids   map[string]int32
}

// BuildVocab returns the vocabulary of at most size ids (specials included)
// over the tokenized documents.
func BuildVocab(docs [][]string, size int) (*Vocab, error) {
	if size < 4 {
		return nil, fmt.Errorf("data: vocabulary size %d, want >= 4 (3 special tokens and a word)", size)
	}
	counts := map[string]int{}
	for _, d := range docs {
		for _, w := range d {
			counts[w]++
		}
	}
	words := make([]string, 0, len(counts))
	for w := range counts {
		words = append(words, w)
	}
	slices.SortFunc(words, func(a, b string) int {
		if c := cmp.Compare(counts[b], counts[a]); c != 0 {
			return c
		}
		return strings.Compare(a, b)
	})
	if len(words) > size-3 {
		words = words[:size-3]
	}
	return NewVocab(append([]string{"<unk>", "<bos>", "<eos>"}, words...))
}

// NewVocab rebuilds a vocabulary from its word list (as saved from
// Vocab.Words), which must start with the three special tokens.
func NewVocab(words []string) (*Vocab, error) {
	if len(words) < 3 || words[0] != "<unk>" || words[1] != "<bos>" || words[2] != "<eos>" {
		return nil, errors.New("data: vocabulary must start with <unk>, <bos>, <eos>")
	}
	v := &Vocab{Words: words, ids: make(map[string]int32, len(words))}
	for i, w := range words {
		if _, dup := v.ids[w]; dup {
			return nil, fmt.Errorf("data: vocabulary lists %q twice", w)
		}
		v.ids[w] = int32(i)
	}
	return v, nil
}

// Size returns the number of ids.
func (v *Vocab) Size() int { return len(v.Words) }

// ID returns the id of w, or UnkID.
func (v *Vocab) ID(w string) int32 {
	if id, ok := v.ids[w]; ok && id > EOSID {
		return id
	}
	return UnkID
}

// Encode maps words to ids.
func (v *Vocab) Encode(words []string) []int32 {
	out := make([]int32, len(words))
	for i, w := range words {
		out[i] = v.ID(w)
	}
	return out
}

// TextSet is a set of fixed-length token sequences for next-word
// prediction. Sequence i is Tokens[i*Seq:(i+1)*Seq]; its targets,
// Targets[i*Seq:(i+1)*Seq], are the same stream shifted by one token.
type TextSet struct {
	Tokens  []int32
	Targets []int32
	// Source[i] indexes Sources: the file sequence i was cut from.
	Source  []int32
	Sources []string
	N, Seq  int
}

// Len returns the number of sequences.
func (s *TextSet) Len() int { return s.N }

// Gather copies the sequences at idx into b: Tokens and Labels (targets),
// each len(idx)*Seq long.
func (s *TextSet) Gather(b *Batch, idx []int) {
	b.Tokens = growI32(b.Tokens, len(idx)*s.Seq)
	b.Labels = growI32(b.Labels, len(idx)*s.Seq)
	b.X = b.X[:0]
	for k, i := range idx {
		copy(b.Tokens[k*s.Seq:(k+1)*s.Seq], s.Tokens[i*s.Seq:(i+1)*s.Seq])
		copy(b.Labels[k*s.Seq:(k+1)*s.Seq], s.Targets[i*s.Seq:(i+1)*s.Seq])
	}
	b.N = len(idx)
}

// TextOptions configures a TextCorpus. Zero fields take the defaults.
type TextOptions struct {
	// VocabSize counts ids including the 3 specials. Default 2000.
	VocabSize int
	// SeqLen is the tokens per sequence. Default 32.
	SeqLen int
	// HeldOut is the fraction of each source's fortunes kept for the test
	// set, chosen with Seed. Default 0.1; a negative value means none.
	HeldOut float64
	// Seed picks the held-out fortunes.
	Seed uint64
	// Punctuation keeps . , ! ? ; : as tokens (see Tokenize).
	Punctuation bool
}

func (o TextOptions) withDefaults() TextOptions {
	if o.VocabSize == 0 {
		o.VocabSize = 2000
	}
	if o.SeqLen == 0 {
		o.SeqLen = 32
	}
	if o.HeldOut == 0 {
		o.HeldOut = 0.1
	}
	if o.HeldOut < 0 {
		o.HeldOut = 0
	}
	return o
}

// TextCorpus is a tokenized corpus split into training and held-out
// sequences, with the vocabulary built from the training fortunes only.
type TextCorpus struct {
	Vocab       *Vocab
	Train, Test *TextSet
}

// LoadFortunes reads the fortunes in dir ("" means FortunesDir()) and builds
// a TextCorpus from them.
func LoadFortunes(dir string, opt TextOptions) (*TextCorpus, error) {
	docs, err := ReadFortunes(dir)
	if err != nil {
		return nil, err
	}
	return NewTextCorpus(docs, opt)
}

// NewTextCorpus tokenizes docs, holds out a seeded fraction of each
// source's documents, builds the vocabulary on the rest, and cuts each
// source's stream (<bos> words <eos> <bos> ...) into non-overlapping
// sequences of SeqLen tokens with next-token targets. Sequences never span
// two sources; a source's last partial sequence is dropped.
func NewTextCorpus(docs []Document, opt TextOptions) (*TextCorpus, error) {
	opt = opt.withDefaults()
	if opt.SeqLen < 1 {
		return nil, fmt.Errorf("data: sequence length %d, want >= 1", opt.SeqLen)
	}
	if opt.HeldOut >= 1 {
		return nil, fmt.Errorf("data: held-out fraction %g, want < 1", opt.HeldOut)
	}
	// Sources in first-seen order; documents grouped by source.
	var sources []string
	bySource := map[string][]int{}
	for i, d := range docs {
		if _, ok := bySource[d.Source]; !ok {
			sources = append(sources, d.Source)
		}
		bySource[d.Source] = append(bySource[d.Source], i)
	}
	toks := make([][]string, len(docs))
	for i, d := range docs {
		toks[i] = Tokenize(d.Text, opt.Punctuation)
	}
	// Hold out per source so every large enough source is evaluated.
	rng := NewRand(opt.Seed)
	test := make([]bool, len(docs))
	for _, s := range sources {
		idx := slices.Clone(bySource[s])
		Shuffle(idx, rng)
		k := int(opt.HeldOut*float64(len(idx)) + 0.5)
		for _, i := range idx[:k] {
			test[i] = true
		}
	}
	var trainToks [][]string
	for i, t := range toks {
		if !test[i] {
			trainToks = append(trainToks, t)
		}
	}
	vocab, err := BuildVocab(trainToks, opt.VocabSize)
	if err != nil {
		return nil, err
	}
	build := func(wantTest bool) *TextSet {
		set := &TextSet{Sources: sources, Seq: opt.SeqLen}
		for si, s := range sources {
			var stream []int32
			for _, i := range bySource[s] {
				if test[i] != wantTest {
					continue
				}
				stream = append(stream, BOSID)
				for _, w := range toks[i] {
					stream = append(stream, vocab.ID(w))
				}
				stream = append(stream, EOSID)
			}
			for start := 0; start+opt.SeqLen+1 <= len(stream); start += opt.SeqLen {
				set.Tokens = append(set.Tokens, stream[start:start+opt.SeqLen]...)
				set.Targets = append(set.Targets, stream[start+1:start+opt.SeqLen+1]...)
				set.Source = append(set.Source, int32(si))
				set.N++
			}
		}
		return set
	}
	return &TextCorpus{Vocab: vocab, Train: build(false), Test: build(true)}, nil
}
