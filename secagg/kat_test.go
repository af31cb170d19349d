package secagg

import (
	"bytes"
	"encoding/hex"
	"encoding/json"
	"flag"
	"fmt"
	"os"
	"path/filepath"
	"testing"

	"github.com/murmur-fl/murmur/secagg/internal/prg"
)

var update = flag.Bool("update", false, "rewrite secagg/testdata/kat.json and the fuzz seed corpora")

type katClient struct {
	ID           ClientID             `json:"id"`
	Seed         string               `json:"seed"`
	Input        []uint64             `json:"input"`
	EncPK        string               `json:"enc_pk"`
	MaskPK       string               `json:"mask_pk"`
	SignPK       string               `json:"sign_pk"`
	R            string               `json:"r"`
	B            string               `json:"b"`
	MaskSK       string               `json:"mask_sk"`
	SelfMaskSeed string               `json:"self_mask_seed,omitempty"`
	Shares       map[string][2]string `json:"shares_sent,omitempty"` // peer -> [r share, b share]
	PairSeeds    map[string]string    `json:"pair_mask_seeds,omitempty"`
	Dropped      string               `json:"dropped,omitempty"`
}

type katMessage struct {
	Stage string   `json:"stage"`
	From  ClientID `json:"from,omitempty"`
	To    ClientID `json:"to,omitempty"`
	Hex   string   `json:"hex"`
}

type kat struct {
	Comment   string                `json:"comment"`
	Params    Params                `json:"params"`
	Neighbors map[string][]ClientID `json:"neighbours"`
	SessionID string                `json:"session_id"`
	PRG       []uint64              `json:"prg_aes256ctr_seed_00_first8_b20"`
	Clients   []katClient           `json:"clients"`
	Messages  []katMessage          `json:"messages"`
	Survivors []ClientID            `json:"survivors"`
	Sum       []uint64              `json:"sum"`
}

// buildKAT runs a small fixed round (5 clients, complete graph, T = 3,
// B = 20, 8 elements; client 4 drops after sharing its keys) and records
// every key, seed, share, message and the result.
func buildKAT(t testing.TB) *kat {
	p := Params{RoundID: 0x1122334455667788, N: 5, Threshold: 3, Degree: 4, ModBits: 20, Len: 8}
	inputs := map[ClientID][]uint64{}
	for id := ClientID(1); id <= 5; id++ {
		v := make([]uint64, p.Len)
		for i := range v {
			v[i] = (uint64(id)*1000 + uint64(i)*77) & p.mask()
		}
		inputs[id] = v
	}
	k := &kat{Comment: "secagg v1 known-answer vectors; see secagg/SPEC.md. Regenerate: go test ./secagg -run TestKnownAnswers -update",
		Params: p, Neighbors: map[string][]ClientID{}}
	rd := newRound(t, p, inputs)
	for id := ClientID(1); id <= 5; id++ {
		k.Neighbors[fmt.Sprint(id)] = rd.srv.g.neighbours(id)
	}
	var d drops
	for i := range d {
		d[i] = map[ClientID]bool{}
	}
	d[2][4] = true
	stages := []string{"advertise", "share-keys", "masked-input", "consistency", "unmask"}
	out := map[ClientID][]byte{}
	for id := ClientID(1); id <= 5; id++ {
		out[id] = rd.clients[id].Start()
	}
	for s := 0; s < 5; s++ {
		for id := ClientID(1); id <= 5; id++ {
			msg, ok := out[id]
			if !ok || d[s][id] {
				continue
			}
			k.Messages = append(k.Messages, katMessage{Stage: stages[s], From: id, Hex: hex.EncodeToString(msg)})
			if err := rd.srv.Handle(id, msg); err != nil {
				t.Fatal(err)
			}
		}
		in, err := rd.srv.Advance()
		if err != nil {
			t.Fatal(err)
		}
		out = map[ClientID][]byte{}
		for id := ClientID(1); id <= 5; id++ {
			msg, ok := in[id]
			if !ok || d[s][id] {
				continue
			}
			k.Messages = append(k.Messages, katMessage{Stage: stages[s], To: id, Hex: hex.EncodeToString(msg)})
			reply, err := rd.clients[id].Handle(msg)
			if err != nil {
				t.Fatal(err)
			}
			out[id] = reply
		}
	}
	sum, surv, err := rd.srv.Result()
	if err != nil {
		t.Fatal(err)
	}
	k.Sum, k.Survivors = sum, surv
	k.SessionID = hex.EncodeToString(rd.srv.sid[:])
	var zero [32]byte
	v := make([]uint64, 8)
	prg.Apply(prg.AES256CTR, v, &zero, 20, false)
	k.PRG = v
	for id := ClientID(1); id <= 5; id++ {
		c := rd.clients[id]
		rb, bb := scalarBytes(c.r), scalarBytes(c.b)
		kc := katClient{ID: id, Seed: hex.EncodeToString(c.seed[:]), Input: inputs[id],
			EncPK: hex.EncodeToString(c.pub.Enc[:]), MaskPK: hex.EncodeToString(c.pub.Mask[:]),
			SignPK: hex.EncodeToString(c.pub.Sign[:]), R: hex.EncodeToString(rb[:]), B: hex.EncodeToString(bb[:]),
			MaskSK: hex.EncodeToString(c.maskSK.Bytes()), Shares: map[string][2]string{}, PairSeeds: map[string]string{}}
		if d[2][id] {
			kc.Dropped = "before masked-input"
		}
		ss := selfMaskSeed(&c.sid, c.b)
		kc.SelfMaskSeed = hex.EncodeToString(ss[:])
		rs := clientStream(&c.seed, "shamir")
		dr, db := newDealer(rs, p.Threshold, c.r), newDealer(rs, p.Threshold, c.b)
		for _, j := range rd.srv.g.neighbours(id) {
			a, b := dr.share(j), db.share(j)
			kc.Shares[fmt.Sprint(j)] = [2]string{hex.EncodeToString(a[:]), hex.EncodeToString(b[:])}
			sh, err := ecdhWith(c.maskSK, rd.clients[j].pub.Mask, j)
			if err != nil {
				t.Fatal(err)
			}
			ps := pairMaskSeed(&c.sid, sh)
			kc.PairSeeds[fmt.Sprint(j)] = hex.EncodeToString(ps[:])
		}
		k.Clients = append(k.Clients, kc)
	}
	return k
}

func TestKnownAnswers(t *testing.T) {
	k := buildKAT(t)
	got, err := json.MarshalIndent(k, "", " ")
	if err != nil {
		t.Fatal(err)
	}
	got = append(got, '\n')
	path := filepath.Join("testdata", "kat.json")
	if *update {
		if err := os.MkdirAll("testdata", 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(path, got, 0o644); err != nil {
			t.Fatal(err)
		}
		writeFuzzSeeds(t, k)
	}
	want, err := os.ReadFile(path)
	if err != nil {
		t.Fatalf("%v (run with -update to create it)", err)
	}
	if !bytes.Equal(got, want) {
		t.Fatalf("known answers differ from %s (if the change is intended, run with -update and say why in the commit)", path)
	}
	// The recorded result is the sum of the four survivors' inputs.
	for i, v := range k.Sum {
		var s uint64
		for _, c := range k.Clients {
			if c.Dropped == "" {
				s += c.Input[i]
			}
		}
		if v != s&k.Params.mask() {
			t.Fatalf("sum[%d] = %d, want %d", i, v, s&k.Params.mask())
		}
	}
}

// writeFuzzSeeds stores the KAT messages as seed corpora for the fuzzers.
func writeFuzzSeeds(t testing.TB, k *kat) {
	dir := filepath.Join("testdata", "fuzz", "FuzzParse")
	os.MkdirAll(dir, 0o755)
	seen := map[string]bool{}
	for _, m := range k.Messages {
		if seen[m.Stage+fmt.Sprint(m.From == 0)] {
			continue
		}
		seen[m.Stage+fmt.Sprint(m.From == 0)] = true
		b, _ := hex.DecodeString(m.Hex)
		name := fmt.Sprintf("%s-%d-%d", m.Stage, m.From, m.To)
		body := fmt.Sprintf("go test fuzz v1\n[]byte(%q)\n", b)
		if err := os.WriteFile(filepath.Join(dir, name), []byte(body), 0o644); err != nil {
			t.Fatal(err)
		}
		// Client-bound messages also seed the client fuzzer, client-sent
		// ones the server fuzzer.
		other, o := "FuzzClientHandle", body
		if m.From != 0 {
			other, o = "FuzzServerHandle", fmt.Sprintf("go test fuzz v1\nuint32(%d)\n[]byte(%q)\n", m.From, b)
		}
		os.MkdirAll(filepath.Join("testdata", "fuzz", other), 0o755)
		if err := os.WriteFile(filepath.Join("testdata", "fuzz", other, name), []byte(o), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	// A saved server after one advertisement seeds its state fuzzer.
	{
		p := params(4, 3, 12, 3)
		s, _ := NewServer(p)
		c, _ := newClient(p, 1, []uint64{1, 2, 3}, [32]byte{1})
		if err := s.Handle(1, c.Start()); err != nil {
			t.Fatal(err)
		}
		st, _ := s.MarshalBinary()
		os.MkdirAll(filepath.Join("testdata", "fuzz", "FuzzRestoreServer"), 0o755)
		body := fmt.Sprintf("go test fuzz v1\n[]byte(%q)\n", st)
		if err := os.WriteFile(filepath.Join("testdata", "fuzz", "FuzzRestoreServer", "one-advertised"), []byte(body), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	// A saved client after the first stage seeds the state fuzzer.
	p := params(4, 3, 12, 3)
	c, err := newClient(p, 1, []uint64{1, 2, 3}, [32]byte{1})
	if err != nil {
		t.Fatal(err)
	}
	st, _ := c.MarshalBinary()
	os.MkdirAll(filepath.Join("testdata", "fuzz", "FuzzRestoreClient"), 0o755)
	body := fmt.Sprintf("go test fuzz v1\n[]byte(%q)\n", st)
	if err := os.WriteFile(filepath.Join("testdata", "fuzz", "FuzzRestoreClient", "fresh-client"), []byte(body), 0o644); err != nil {
		t.Fatal(err)
	}
}
