//go:build js && wasm

package prg

import (
	"encoding/binary"
	"os"
	"syscall/js"
	"unsafe"
)

// In the browser Go's AES is software and ~60x slower than native; the
// page's WebCrypto AES-CTR (hardware AES) gives the same keystream: key =
// seed, 128-bit big-endian counter starting at offset/16, all 128 bits
// counting (as crypto/cipher's CTR). Set MURMUR_PRG_GO=1 to measure without.
func init() {
	if os.Getenv("MURMUR_PRG_GO") == "1" {
		return
	}
	if s := js.Global().Get("crypto"); s.Truthy() && s.Get("subtle").Truthy() {
		platformAES = webcryptoApply
	}
}

// webcryptoApply must run on a goroutine, not synchronously inside a
// js.FuncOf callback: it waits for WebCrypto's promises.
func webcryptoApply(dst []uint64, start int, terms []Term, bits int) bool {
	subtle := js.Global().Get("crypto").Get("subtle")
	u8 := js.Global().Get("Uint8Array")
	w := Width(bits)
	n := len(dst) * w
	zeros := u8.New(n)
	words := make([]uint64, (n+7)/8)
	buf := unsafe.Slice((*byte)(unsafe.Pointer(&words[0])), n)
	iv := make([]byte, 16)
	binary.BigEndian.PutUint64(iv[8:], uint64(start*w/16))
	jsIV := u8.New(16)
	js.CopyBytesToJS(jsIV, iv)
	alg := map[string]any{"name": "AES-CTR", "counter": jsIV, "length": 128}
	usages := []any{"encrypt"}
	jsKey := u8.New(32)
	for i := range terms {
		js.CopyBytesToJS(jsKey, terms[i].Seed[:])
		key, ok := await(subtle.Call("importKey", "raw", jsKey, "AES-CTR", false, usages))
		var ks js.Value
		if ok {
			ks, ok = await(subtle.Call("encrypt", alg, key, zeros))
		}
		if !ok || js.CopyBytesToGo(buf, u8.New(ks)) != n {
			if i == 0 {
				return false // nothing applied yet: fall back to Go
			}
			panic("prg: WebCrypto failed after some masks were applied")
		}
		add(dst, buf, words, w, terms[i].Sub)
	}
	if bits < 64 {
		m := uint64(1)<<uint(bits) - 1
		for i := range dst {
			dst[i] &= m
		}
	}
	return true
}

func await(p js.Value) (js.Value, bool) {
	type res struct {
		v  js.Value
		ok bool
	}
	ch := make(chan res, 1)
	then := js.FuncOf(func(_ js.Value, a []js.Value) any { ch <- res{a[0], true}; return nil })
	catch := js.FuncOf(func(_ js.Value, a []js.Value) any { ch <- res{js.Undefined(), false}; return nil })
	defer then.Release()
	defer catch.Release()
	p.Call("then", then, catch)
	r := <-ch
	return r.v, r.ok
}
