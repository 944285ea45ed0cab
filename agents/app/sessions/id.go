package sessions

import (
	"crypto/rand"
	"encoding/hex"
	"strings"
)

// idHexLen is the length of the random part of a session id: 128 bits in hex.
const idHexLen = 32

// maxNodeIDLen bounds node ids so that a cookie value stays far below
// memcached's 250-byte key limit even with the "bak:" and "lock:" prefixes.
const maxNodeIDLen = 64

// newID returns a fresh session id stored on node: 128 random bits in hex,
// a dash, and the node id, e.g. "9f0c…e1-n2" as memcached-session-manager
// writes it.
func newID(node string) string {
	var b [idHexLen / 2]byte
	if _, err := rand.Read(b[:]); err != nil {
		// crypto/rand never fails on Linux; a failure means we must not
		// issue guessable ids, so this is a program-level fault.
		panic("sessions: crypto/rand failed: " + err.Error())
	}
	return hex.EncodeToString(b[:]) + "-" + node
}

// splitID checks the shape of a session id taken from a cookie, before it is
// ever used as a cache key, and returns the node id it names. Only lowercase
// hex, one dash and a well-formed node id pass; anything else (overlong
// values, spaces, control characters, other cases) is rejected.
func splitID(id string) (node string, ok bool) {
	if len(id) < idHexLen+2 || len(id) > idHexLen+1+maxNodeIDLen || id[idHexLen] != '-' {
		return "", false
	}
	for i := 0; i < idHexLen; i++ {
		c := id[i]
		if !(c >= '0' && c <= '9' || c >= 'a' && c <= 'f') {
			return "", false
		}
	}
	node = id[idHexLen+1:]
	if !validNodeID(node) {
		return "", false
	}
	return node, true
}

// validNodeID accepts the names HCL allows for caches: letters, digits,
// '_' and '-', starting with a letter or digit.
func validNodeID(s string) bool {
	if s == "" || len(s) > maxNodeIDLen || strings.HasPrefix(s, "-") {
		return false
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		ok := c == '_' || c == '-' || c >= '0' && c <= '9' || c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z'
		if !ok {
			return false
		}
	}
	return true
}
