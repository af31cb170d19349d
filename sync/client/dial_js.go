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

// closeNow closes the connection. Browsers accept only 1000 and 3000-4999
// in WebSocket.close() (coder/websocket's CloseNow uses 1001 and fails), and
// a js close always waits for the handshake, so it runs in the background.
func closeNow(ws *websocket.Conn) { go ws.Close(websocket.StatusNormalClosure, "") }
