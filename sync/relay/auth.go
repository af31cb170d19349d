package relay

import (
	"crypto/hmac"
	"crypto/sha256"
	"encoding/base64"
	"errors"
	"strings"
)

// Authenticator maps a bearer token to the device id it was issued for.
type Authenticator interface {
	Authenticate(token string) (deviceID string, err error)
}

// ErrUnauthorized is returned for a missing or unknown token.
var ErrUnauthorized = errors.New("relay: unknown token")

// HMACTokens issues and checks self-contained tokens "<device>.<mac>",
// where mac is HMAC-SHA256(secret, device), base64url. Nothing to store;
// rotate the secret to revoke everything.
type HMACTokens struct{ Secret []byte }

// Issue returns the token for a device id. Device ids must not contain '.'.
func (h HMACTokens) Issue(device string) string {
	return device + "." + base64.RawURLEncoding.EncodeToString(h.mac(device))
}

func (h HMACTokens) mac(device string) []byte {
	m := hmac.New(sha256.New, h.Secret)
	m.Write([]byte(device))
	return m.Sum(nil)
}

// Authenticate implements Authenticator.
func (h HMACTokens) Authenticate(token string) (string, error) {
	dev, sig, ok := strings.Cut(token, ".")
	if !ok || dev == "" || len(h.Secret) == 0 {
		return "", ErrUnauthorized
	}
	// Compare the canonical encoding: base64 admits several spellings of
	// the same bytes, and a token must have exactly one.
	want := base64.RawURLEncoding.EncodeToString(h.mac(dev))
	if !hmac.Equal([]byte(sig), []byte(want)) {
		return "", ErrUnauthorized
	}
	return dev, nil
}

// StaticTokens maps tokens to device ids.
type StaticTokens map[string]string

// Authenticate implements Authenticator.
func (s StaticTokens) Authenticate(token string) (string, error) {
	if d, ok := s[token]; ok && token != "" {
		return d, nil
	}
	return "", ErrUnauthorized
}
