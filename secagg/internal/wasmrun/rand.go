package main

import "crypto/rand"

// randReader gives the guest the host's CSPRNG (wazero's default is a
// fixed, insecure stream).
type randReader struct{}

func (randReader) Read(p []byte) (int, error) { return rand.Read(p) }
