package app

import (
	"encoding/json"
	"errors"
	"fmt"
	"net"
	"net/http"
	"net/http/httputil"
	"net/url"
	"os"
	"path"
	"path/filepath"
	"strings"
	"unicode/utf8"

	"github.com/stickyform/stickyform/agents/app/sessions"
)

// The header contract with the user's app behind -upstream (README: "The
// app's header contract"). Requests carry the session; a response may
// change it. Clients can never send or see these headers: any X-Session-*
// header of a request is removed before forwarding, and the response
// headers below are removed before the client gets the response.
const (
	hdrID         = "X-Session-Id"         // request: the session id; absent when none
	hdrNode       = "X-Session-Node"       // request: the node that stores it
	hdrServer     = "X-Session-Server"     // request: this agent's -name
	hdrAttrs      = "X-Session-Attributes" // request: JSON object, string values, ASCII only
	hdrSet        = "X-Session-Set"        // response: JSON object; null deletes a key
	hdrInvalidate = "X-Session-Invalidate" // response: "true" ends the session
)

func (s *server) newUpstream(addr string) (http.Handler, error) {
	if _, _, err := net.SplitHostPort(addr); err != nil {
		return nil, fmt.Errorf("app agent: upstream %q: want host:port: %w", addr, err)
	}
	target := &url.URL{Scheme: "http", Host: addr}
	rp := &httputil.ReverseProxy{
		Rewrite: func(pr *httputil.ProxyRequest) {
			pr.SetURL(target)
			pr.SetXForwarded()
			pr.Out.Host = pr.In.Host
			for k := range pr.Out.Header {
				if strings.HasPrefix(k, "X-Session-") {
					delete(pr.Out.Header, k)
				}
			}
			s.sessionHeaders(pr.Out.Header, txnFrom(pr.In.Context()))
		},
		ModifyResponse: s.upstreamResponse,
		ErrorHandler: func(w http.ResponseWriter, r *http.Request, err error) {
			var he *headerError
			switch {
			case errors.As(err, &he):
				s.log.Warn("upstream sent a bad session header", "addr", addr, "err", err)
				http.Error(w, err.Error(), http.StatusBadGateway)
			case errors.Is(err, sessions.ErrNoNode):
				s.fail(w, err)
			default:
				s.log.Warn("upstream", "addr", addr, "err", err)
				http.Error(w, "upstream app unavailable", http.StatusBadGateway)
			}
		},
	}
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		t, err := s.begin(r)
		if err != nil {
			s.fail(w, err)
			return
		}
		rp.ServeHTTP(w, r.WithContext(withTxn(r.Context(), t)))
		t.Commit(r.Context()) // no-op when the response hook committed
	}), nil
}

// sessionHeaders describes the request's session to the upstream app.
func (s *server) sessionHeaders(h http.Header, t *sessions.Txn) {
	h.Set(hdrServer, s.cfg.Name)
	sess := t.Session()
	if sess == nil {
		h.Set(hdrAttrs, "{}")
		return
	}
	h.Set(hdrID, sess.ID)
	h.Set(hdrNode, sess.Node)
	h.Set(hdrAttrs, asciiJSON(sess.Attributes))
}

// upstreamResponse applies the session changes the app asked for, stores
// the session and sets the cookie, before the client sees the response.
func (s *server) upstreamResponse(resp *http.Response) error {
	t := txnFrom(resp.Request.Context())
	set, inval := resp.Header.Get(hdrSet), resp.Header.Get(hdrInvalidate)
	resp.Header.Del(hdrSet)
	resp.Header.Del(hdrInvalidate)
	if set != "" {
		ch, err := parseSet(set)
		if err != nil {
			return &headerError{err}
		}
		sess, err := t.Create()
		if err != nil {
			return err
		}
		for k, v := range ch {
			if v == nil {
				delete(sess.Attributes, k)
			} else {
				sess.Attributes[k] = *v
			}
		}
	}
	if inval == "true" || inval == "1" {
		t.Invalidate()
	}
	if err := t.Commit(resp.Request.Context()); err != nil {
		return err
	}
	if c := s.cookie(resp.Request, t); c != nil {
		resp.Header.Add("Set-Cookie", c.String())
	}
	return nil
}

// headerError is a malformed X-Session-Set from the upstream app: a bug
// in the app, reported to the client as 502 so it is seen, not ignored.
type headerError struct{ err error }

func (e *headerError) Error() string {
	return "upstream app: bad " + hdrSet + " header: " + e.err.Error()
}
func (e *headerError) Unwrap() error { return e.err }

// parseSet reads {"k":"v","gone":null}. Values must be strings or null.
func parseSet(v string) (map[string]*string, error) {
	var ch map[string]*string
	if err := json.Unmarshal([]byte(v), &ch); err != nil {
		return nil, fmt.Errorf("want a JSON object of strings or null: %w", err)
	}
	if len(ch) > maxAttrs {
		return nil, fmt.Errorf("more than %d attributes", maxAttrs)
	}
	for k, val := range ch {
		vs := ""
		if val != nil {
			vs = *val
		}
		if msg := checkAttr(k, vs); msg != "" {
			return nil, fmt.Errorf("attribute %q: %s", k, msg)
		}
	}
	return ch, nil
}

// asciiJSON marshals v with every non-ASCII rune escaped as \uXXXX, so the
// header is plain ASCII whatever the attribute values hold.
func asciiJSON(v any) string {
	b, _ := json.Marshal(v)
	var sb strings.Builder
	for len(b) > 0 {
		r, size := utf8.DecodeRune(b)
		b = b[size:]
		switch {
		case r < utf8.RuneSelf:
			sb.WriteRune(r)
		case r > 0xFFFF:
			r1, r2 := utf16Surrogates(r)
			fmt.Fprintf(&sb, `\u%04x\u%04x`, r1, r2)
		default:
			fmt.Fprintf(&sb, `\u%04x`, r)
		}
	}
	return sb.String()
}

func utf16Surrogates(r rune) (rune, rune) {
	r -= 0x10000
	return 0xD800 + (r>>10)&0x3FF, 0xDC00 + r&0x3FF
}

// staticExists reports whether the docroot has a regular file for p, so
// that with both -static and -upstream the files win and the rest goes on.
func (s *server) staticExists(p string) bool {
	name := filepath.Join(s.cfg.Static, filepath.FromSlash(path.Clean("/"+p)))
	fi, err := os.Stat(name)
	return err == nil && fi.Mode().IsRegular()
}
