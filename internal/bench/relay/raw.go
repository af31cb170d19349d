package relay

import (
	"bufio"
	"encoding/binary"
	"fmt"
	"net"
	"net/http"
	"slices"
	"time"

	"github.com/murmur-fl/murmur/sync/wire"
)

func slicesSort(d []time.Duration) { slices.Sort(d) }

// dialRaw opens a device session with a hand-written WebSocket handshake
// and Hello, and returns the bare socket: the device side costs one file
// descriptor and no goroutine, so memory growth is the relay's.
func dialRaw(addr, id string) (net.Conn, error) {
	c, err := net.Dial("tcp", addr)
	if err != nil {
		return nil, err
	}
	c.SetDeadline(time.Now().Add(30 * time.Second))
	fmt.Fprintf(c, "GET /ws HTTP/1.1\r\nHost: %s\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"+
		"Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n"+
		"Sec-WebSocket-Protocol: murmur.v1\r\nAuthorization: Bearer %s\r\n\r\n", addr, secret.Issue(id))
	br := bufio.NewReader(c)
	resp, err := http.ReadResponse(br, nil)
	if err != nil {
		c.Close()
		return nil, err
	}
	if resp.StatusCode != http.StatusSwitchingProtocols {
		c.Close()
		return nil, fmt.Errorf("handshake: %s", resp.Status)
	}
	hello, _ := wire.Encode(&wire.Hello{Protocol: wire.Protocol, DeviceID: id}, false)
	// A client frame: FIN|binary, masked with a zero key (payload unchanged).
	f := []byte{0x82, 0x80 | byte(len(hello)), 0, 0, 0, 0}
	if len(hello) >= 126 {
		return nil, fmt.Errorf("hello too long for the short form")
	}
	if _, err := c.Write(append(f, hello...)); err != nil {
		c.Close()
		return nil, err
	}
	// Read the Welcome frame header and payload.
	var h [2]byte
	if _, err := br.Read(h[:1]); err != nil {
		c.Close()
		return nil, err
	}
	if _, err := br.Read(h[1:]); err != nil {
		c.Close()
		return nil, err
	}
	n := int(h[1] & 0x7f)
	if n == 126 {
		var l [2]byte
		br.Read(l[:])
		n = int(binary.BigEndian.Uint16(l[:]))
	}
	if _, err := br.Discard(n); err != nil {
		c.Close()
		return nil, err
	}
	if h[0]&0x0f != 2 {
		c.Close()
		return nil, fmt.Errorf("expected a binary Welcome frame, got opcode %d", h[0]&0x0f)
	}
	c.SetDeadline(time.Time{})
	return c, nil
}
