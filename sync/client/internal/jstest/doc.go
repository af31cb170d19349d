// Package jstest holds a GOOS=js test of the client, run under Node by
// sync/relay's TestJSClient against a live relay.
package jstest
