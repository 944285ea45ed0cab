package proxy

import (
	"crypto/hmac"
	"crypto/md5"
	"crypto/sha1"
	"encoding/binary"
	"encoding/hex"
	"fmt"
	"hash"
	"net"
	"strconv"
	"strings"
	"time"
)

// sticky computes and recognises route cookie values exactly as
// nginx-sticky-module-ng does, so a cookie issued by nginx with the module
// routes to the same backend here and the other way round.
type sticky struct {
	opt     Sticky
	values  []string       // cookie value per backend index
	byValue map[string]int // value → backend index
	attrs   string         // "; Domain=...; Path=..." minus Expires
}

// newSticky derives the per-backend cookie values for addrs, the backends'
// resolved socket addresses in configuration order.
func newSticky(opt Sticky, addrs []*net.TCPAddr) (*sticky, error) {
	s := &sticky{opt: opt, byValue: make(map[string]int, len(addrs))}
	for i, a := range addrs {
		v, err := routeValue(opt, i, a)
		if err != nil {
			return nil, err
		}
		s.values = append(s.values, v)
		s.byValue[v] = i
	}
	s.attrs = cookieAttrs(opt)
	return s, nil
}

// routeValue is the cookie value naming backend i. The module hashes the
// peer's binary struct sockaddr (sockaddr_in or sockaddr_in6, as the kernel
// lays it out on a little-endian host) and prints the digest in lowercase hex;
// "index" is the decimal position in the upstream block.
func routeValue(opt Sticky, i int, a *net.TCPAddr) (string, error) {
	var h hash.Hash
	switch opt.Hash {
	case "index":
		return strconv.Itoa(i), nil
	case "md5":
		h = md5.New()
	case "sha1":
		h = sha1.New()
	case "hmac", "hmac-md5":
		h = hmac.New(md5.New, []byte(opt.HMACKey))
	case "hmac-sha1":
		h = hmac.New(sha1.New, []byte(opt.HMACKey))
	default:
		return "", fmt.Errorf("sticky hash %q: unknown", opt.Hash)
	}
	h.Write(sockaddr(a))
	return hex.EncodeToString(h.Sum(nil)), nil
}

// sockaddr returns the bytes of the C struct sockaddr_in (16 bytes) or
// sockaddr_in6 (28 bytes) for a: family in host (little-endian) order, port
// in network order, then the address, with zeroed padding, flow info and
// scope id.
func sockaddr(a *net.TCPAddr) []byte {
	if ip4 := a.IP.To4(); ip4 != nil {
		b := make([]byte, 16)
		binary.LittleEndian.PutUint16(b[0:], 2) // AF_INET
		binary.BigEndian.PutUint16(b[2:], uint16(a.Port))
		copy(b[4:8], ip4)
		return b
	}
	b := make([]byte, 28)
	binary.LittleEndian.PutUint16(b[0:], 10) // AF_INET6 on Linux
	binary.BigEndian.PutUint16(b[2:], uint16(a.Port))
	copy(b[8:24], a.IP.To16())
	return b
}

// lookup returns the backend index a cookie value names, or -1 for a
// missing, forged or stale value (which the module treats as no cookie).
func (s *sticky) lookup(v []byte) int {
	if len(v) == 0 {
		return -1
	}
	if i, ok := s.byValue[string(v)]; ok { // no allocation: map index by string(bytes)
		return i
	}
	return -1
}

// cookieAttrs renders the attributes after the value in the module's order
// (Domain, Expires, Path, Secure, HttpOnly), Expires excluded because it
// moves with the clock, and SameSite last, which the module lacks.
func cookieAttrs(o Sticky) string {
	var b strings.Builder
	if o.Domain != "" {
		b.WriteString("; Domain=" + o.Domain)
	}
	b.WriteString("\x00") // placeholder for Expires, replaced in setCookie
	if o.Path != "" {
		b.WriteString("; Path=" + o.Path)
	}
	if o.Secure {
		b.WriteString("; Secure")
	}
	if o.HTTPOnly {
		b.WriteString("; HttpOnly")
	}
	switch strings.ToLower(o.SameSite) {
	case "strict":
		b.WriteString("; SameSite=Strict")
	case "lax":
		b.WriteString("; SameSite=Lax")
	case "none":
		b.WriteString("; SameSite=None")
	}
	return b.String()
}

// setCookie appends the Set-Cookie value assigning backend i at time now.
// The Expires date uses the module's format, "Sun, 06-Nov-1994 08:49:37 GMT".
func (s *sticky) setCookie(dst []byte, i int, now time.Time) []byte {
	dst = append(dst, s.opt.Name...)
	dst = append(dst, '=')
	dst = append(dst, s.values[i]...)
	pre, post, _ := strings.Cut(s.attrs, "\x00")
	dst = append(dst, pre...)
	if s.opt.Expires > 0 {
		dst = append(dst, "; Expires="...)
		dst = now.Add(time.Duration(s.opt.Expires)).UTC().AppendFormat(dst, "Mon, 02-Jan-2006 15:04:05 GMT")
	}
	return append(dst, post...)
}
