package wire

import (
	"encoding/binary"
	"fmt"
	"os"
	"path/filepath"
	"testing"
)

// TestWriteFuzzSeeds regenerates testdata/fuzz/FuzzDecode with
// MURMUR_UPDATE_VECTORS=1; otherwise it checks the seeds are present.
func TestWriteFuzzSeeds(t *testing.T) {
	dir := filepath.Join("testdata", "fuzz", "FuzzDecode")
	if os.Getenv("MURMUR_UPDATE_VECTORS") != "1" {
		ents, err := os.ReadDir(dir)
		if err != nil || len(ents) < len(samples()) {
			t.Fatalf("fuzz seeds missing in %s (%v); regenerate with MURMUR_UPDATE_VECTORS=1", dir, err)
		}
		return
	}
	os.MkdirAll(dir, 0o755)
	var seeds [][]byte
	for _, m := range samples() {
		b, _ := Encode(m, false)
		seeds = append(seeds, b)
		b, _ = Encode(m, true)
		seeds = append(seeds, b)
	}
	huge := binary.AppendUvarint([]byte{Version, byte(TChunk), 0}, 1<<63)
	seeds = append(seeds, huge, []byte("garbage"), []byte{Version, byte(TBye), FlagZstd, 2, 0x28, 0xb5})
	for i, s := range seeds {
		body := fmt.Sprintf("go test fuzz v1\n[]byte(%q)\n", s)
		if err := os.WriteFile(filepath.Join(dir, fmt.Sprintf("seed%02d", i)), []byte(body), 0o644); err != nil {
			t.Fatal(err)
		}
	}
}
