//go:build js

package client

import (
	"encoding/base64"
	"fmt"
	"syscall/js"
)

// LocalStorage keeps state in the browser's window.localStorage under
// prefix (base64-encoded; fine for sessions and models of a few MB, the
// usual quota is 5-10 MB per origin).
func LocalStorage(prefix string) Storage { return localStorage(prefix) }

type localStorage string

func (p localStorage) ls() js.Value { return js.Global().Get("localStorage") }

func (p localStorage) Get(k string) ([]byte, error) {
	v := p.ls().Call("getItem", string(p)+k)
	if v.IsNull() || v.IsUndefined() {
		return nil, ErrNotExist
	}
	return base64.StdEncoding.DecodeString(v.String())
}

func (p localStorage) Put(k string, v []byte) (err error) {
	defer func() {
		if e := recover(); e != nil { // QuotaExceededError and friends
			err = fmt.Errorf("client: localStorage: %v", e)
		}
	}()
	p.ls().Call("setItem", string(p)+k, base64.StdEncoding.EncodeToString(v))
	return nil
}

func (p localStorage) Append(k string, v []byte) error {
	old, err := p.Get(k)
	if err != nil && err != ErrNotExist {
		return err
	}
	return p.Put(k, append(old, v...))
}

func (p localStorage) Delete(k string) error {
	p.ls().Call("removeItem", string(p)+k)
	return nil
}
