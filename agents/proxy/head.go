package proxy

import (
	"bytes"
	"net"
	"strconv"

	"github.com/valyala/fasthttp"
)

// appendRequestHead writes the request line and headers sent upstream: the
// client's raw header lines in their order and case, minus hop-by-hop
// headers, framing headers (set here from the body actually sent) and the
// X-Forwarded-* the proxy rewrites. bodyLen is the Content-Length to send,
// -1 for chunked, -2 for none.
func appendRequestHead(dst []byte, ctx *fasthttp.RequestCtx, bodyLen int, upgrade bool) []byte {
	h := &ctx.Request.Header
	dst = append(dst, h.Method()...)
	dst = append(dst, ' ')
	dst = append(dst, h.RequestURI()...)
	dst = append(dst, " HTTP/1.1\r\n"...)
	raw := h.RawHeaders()
	connection := headerValue(raw, "Connection")
	var xff []byte
	for len(raw) > 0 {
		line := raw
		if i := bytes.IndexByte(raw, '\n'); i >= 0 {
			line, raw = raw[:i], raw[i+1:]
		} else {
			raw = nil
		}
		line = bytes.TrimSuffix(line, []byte{'\r'})
		k, v, ok := bytes.Cut(line, []byte{':'})
		if !ok || len(k) == 0 {
			continue
		}
		if bytes.EqualFold(k, []byte("X-Forwarded-For")) {
			xff = bytes.TrimSpace(v)
			continue
		}
		if dropRequestHeader(k, bodyLen) || listedIn(connection, k) {
			continue
		}
		dst = append(dst, line...)
		dst = append(dst, '\r', '\n')
	}
	if len(h.Host()) == 0 {
		dst = append(dst, "Host: "...)
		dst = append(dst, ctx.LocalAddr().String()...)
		dst = append(dst, '\r', '\n')
	}
	dst = append(dst, "X-Forwarded-For: "...)
	if len(xff) > 0 {
		dst = append(dst, xff...)
		dst = append(dst, ", "...)
	}
	dst = appendIP(dst, ctx.RemoteIP())
	dst = append(dst, "\r\nX-Forwarded-Proto: "...)
	if ctx.IsTLS() {
		dst = append(dst, "https"...)
	} else {
		dst = append(dst, "http"...)
	}
	dst = append(dst, "\r\nX-Forwarded-Host: "...)
	dst = append(dst, h.Host()...)
	dst = append(dst, '\r', '\n')
	switch {
	case bodyLen >= 0:
		dst = append(dst, "Content-Length: "...)
		dst = strconv.AppendInt(dst, int64(bodyLen), 10)
		dst = append(dst, '\r', '\n')
	case bodyLen == -1:
		dst = append(dst, "Transfer-Encoding: chunked\r\n"...)
	}
	if upgrade {
		dst = append(dst, "Connection: Upgrade\r\nUpgrade: "...)
		dst = append(dst, headerValue(h.RawHeaders(), "Upgrade")...)
		dst = append(dst, '\r', '\n')
	}
	return append(dst, '\r', '\n')
}

// dropRequestHeader reports headers that must not be copied upstream:
// RFC 9110's hop-by-hop fields, framing the proxy redoes, Expect (the
// proxy answers 100-continue itself) and the forwarding headers it sets.
func dropRequestHeader(k []byte, bodyLen int) bool {
	switch len(k) {
	case 2:
		return bytes.EqualFold(k, []byte("TE"))
	case 6:
		return bytes.EqualFold(k, []byte("Expect"))
	case 7:
		return bytes.EqualFold(k, []byte("Upgrade")) ||
			(bodyLen != -1 && bytes.EqualFold(k, []byte("Trailer")))
	case 10:
		return bytes.EqualFold(k, []byte("Connection")) || bytes.EqualFold(k, []byte("Keep-Alive"))
	case 14:
		return bytes.EqualFold(k, []byte("Content-Length"))
	case 16:
		return bytes.EqualFold(k, []byte("Proxy-Connection")) || bytes.EqualFold(k, []byte("X-Forwarded-Host"))
	case 17:
		return bytes.EqualFold(k, []byte("Transfer-Encoding")) || bytes.EqualFold(k, []byte("X-Forwarded-Proto"))
	case 19:
		return bytes.EqualFold(k, []byte("Proxy-Authorization"))
	}
	return false
}

// headerValue returns the first value of header k in raw header lines.
func headerValue(raw []byte, k string) []byte {
	for len(raw) > 0 {
		line := raw
		if i := bytes.IndexByte(raw, '\n'); i >= 0 {
			line, raw = raw[:i], raw[i+1:]
		} else {
			raw = nil
		}
		name, v, ok := bytes.Cut(line, []byte{':'})
		if ok && bytes.EqualFold(name, []byte(k)) {
			return bytes.TrimSpace(v)
		}
	}
	return nil
}

// listedIn reports whether header name k is one of the comma-separated
// tokens of a Connection header (those are hop-by-hop too).
func listedIn(connection, k []byte) bool {
	for len(connection) > 0 {
		tok := connection
		if i := bytes.IndexByte(connection, ','); i >= 0 {
			tok, connection = connection[:i], connection[i+1:]
		} else {
			connection = nil
		}
		if bytes.EqualFold(bytes.TrimSpace(tok), k) {
			return true
		}
	}
	return false
}

// conflictingFraming reports a request carrying both Transfer-Encoding and
// Content-Length, the classic smuggling vector; fasthttp would accept it
// (chunked wins), the issue wants it refused.
func conflictingFraming(h *fasthttp.RequestHeader) bool {
	if h.ContentLength() != -1 {
		return false
	}
	return headerValue(h.RawHeaders(), "Content-Length") != nil
}

// stripResponseHopByHop removes hop-by-hop headers from an upstream response
// before it goes to the client: RFC 9110's list and whatever the backend's
// Connection header names. Names match in any case (the proxy keeps header
// case as received). The usual "Connection: keep-alive" costs no allocation.
func stripResponseHopByHop(h *fasthttp.ResponseHeader) {
	var dropBuf [6]string
	drop := dropBuf[:0]
	var connection []byte
	for k, v := range h.All() {
		name, ok := responseHopByHop(k)
		if !ok {
			continue
		}
		if name == "Connection" && !bytes.EqualFold(v, []byte("keep-alive")) && !bytes.EqualFold(v, []byte("close")) {
			connection = append(connection[:0], v...)
		}
		if !bytes.Equal(k, []byte(name)) {
			name = string(k) // other case than the usual: delete it as spelled
		}
		drop = append(drop, name)
	}
	if connection != nil {
		for k := range h.All() {
			if listedIn(connection, k) {
				drop = append(drop, string(k))
			}
		}
	}
	for _, k := range drop {
		h.Del(k)
	}
}

// responseHopByHop reports whether k is a hop-by-hop response header and
// returns its usual spelling.
func responseHopByHop(k []byte) (string, bool) {
	for _, name := range [...]string{"Connection", "Keep-Alive", "Upgrade", "Proxy-Connection", "Proxy-Authenticate"} {
		if len(k) == len(name) && bytes.EqualFold(k, []byte(name)) {
			return name, true
		}
	}
	return "", false
}

// appendIP appends ip in its text form.
func appendIP(dst []byte, ip net.IP) []byte {
	out, err := ip.AppendText(dst)
	if err != nil {
		return append(dst, '-')
	}
	return out
}
