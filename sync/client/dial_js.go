//go:build js

package client

import (
	"github.com/coder/websocket"
)

const subprotocol = "murmur.v1"

// Browsers cannot set headers on a WebSocket handshake, so the token
// travels as a second offered subprotocol (see PROTOCOL.md, Handshake).
func dialOptions(cfg *Config) *websocket.DialOptions {
	return &websocket.DialOptions{Subprotocols: []string{subprotocol, "murmur.bearer." + cfg.Token}}
}
