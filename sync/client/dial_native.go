//go:build !js

package client

import (
	"net/http"

	"github.com/coder/websocket"
)

// Subprotocol must match relay.Subprotocol.
const subprotocol = "murmur.v1"

func dialOptions(cfg *Config) *websocket.DialOptions {
	h := http.Header{}
	h.Set("Authorization", "Bearer "+cfg.Token)
	return &websocket.DialOptions{HTTPClient: cfg.HTTPClient, HTTPHeader: h, Subprotocols: []string{subprotocol}}
}

// closeNow drops the connection without a close handshake.
func closeNow(ws *websocket.Conn) { ws.CloseNow() }
