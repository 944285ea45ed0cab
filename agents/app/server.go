package app

import (
	"context"
	"encoding/json"
	"errors"
	"io"
	"log/slog"
	"net/http"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/stickyform/stickyform/agents/app/sessions"
)

// Limits on what a client may store, so one session stays well below
// memcached's 1 MiB item limit.
const (
	maxKeyLen   = 256
	maxValueLen = 64 << 10
	maxAttrs    = 256
)

type server struct {
	cfg     Config
	mgr     *sessions.Manager
	log     *slog.Logger
	metrics *metrics
	static  http.Handler // nil without -static
	proxy   http.Handler // nil without -upstream
}

func newServer(cfg Config, mgr *sessions.Manager, log *slog.Logger) (*server, error) {
	s := &server{cfg: cfg, mgr: mgr, log: log, metrics: newMetrics(mgr)}
	if cfg.Static != "" {
		s.static = http.FileServer(http.Dir(cfg.Static))
	}
	if cfg.Upstream != "" {
		p, err := s.newUpstream(cfg.Upstream)
		if err != nil {
			return nil, err
		}
		s.proxy = p
	}
	return s, nil
}

func (s *server) handler() http.Handler {
	mux := http.NewServeMux()
	mux.HandleFunc("GET /health", func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "text/plain; charset=utf-8")
		io.WriteString(w, "ok\n")
	})
	mux.Handle("GET /metrics", s.metrics.handler())
	mux.HandleFunc("GET /api/session", s.apiGet)
	mux.HandleFunc("DELETE /api/session", s.apiInvalidate)
	mux.HandleFunc("PUT /api/session/attributes/{key}", s.apiPut)
	mux.HandleFunc("DELETE /api/session/attributes/{key}", s.apiDelete)
	mux.HandleFunc("GET /demo", s.demoGet)
	mux.HandleFunc("POST /demo", s.demoPost)
	mux.HandleFunc("/", s.other)
	return s.metrics.instrument(mux)
}

// other serves what is not the agent's own: the demo page at "/" (unless
// an upstream app owns "/"), then static files, then the upstream.
func (s *server) other(w http.ResponseWriter, r *http.Request) {
	switch {
	case r.URL.Path == "/api/session" || strings.HasPrefix(r.URL.Path, "/api/session/attributes/"):
		// Our own paths with a method they do not take.
		w.Header().Set("Allow", "GET, PUT, DELETE")
		http.Error(w, "method not allowed", http.StatusMethodNotAllowed)
	case r.URL.Path == "/" && s.proxy == nil && r.Method == http.MethodPost:
		s.demoPost(w, r)
	case r.URL.Path == "/" && s.proxy == nil && (r.Method == http.MethodGet || r.Method == http.MethodHead):
		s.demoGet(w, r)
	case s.static != nil && (s.proxy == nil || s.staticExists(r.URL.Path)):
		s.static.ServeHTTP(w, r)
	case s.proxy != nil:
		s.proxy.ServeHTTP(w, r)
	default:
		http.NotFound(w, r)
	}
}

// begin loads the request's session from its cookie. Only the first
// cookie of our name with a well-formed id for a configured node is used.
func (s *server) begin(r *http.Request) (*sessions.Txn, error) {
	id := ""
	for _, c := range r.CookiesNamed(s.cfg.Cookie) {
		if s.mgr.ValidID(c.Value) {
			id = c.Value
			break
		}
	}
	return s.mgr.Begin(r.Context(), id)
}

// commit stores the session and sets the cookie when the id changed.
func (s *server) commit(w http.ResponseWriter, r *http.Request, t *sessions.Txn) error {
	if err := t.Commit(r.Context()); err != nil {
		return err
	}
	if c := s.cookie(r, t); c != nil {
		http.SetCookie(w, c)
	}
	return nil
}

// cookie is the Set-Cookie the response needs, or nil.
func (s *server) cookie(r *http.Request, t *sessions.Txn) *http.Cookie {
	id, changed, clear := t.Cookie()
	if !changed && !clear {
		return nil
	}
	c := &http.Cookie{
		Name: s.cfg.Cookie, Value: id, Path: "/", HttpOnly: true,
		SameSite: http.SameSiteLaxMode, Secure: r.TLS != nil || s.cfg.Secure,
	}
	if clear {
		c.MaxAge = -1
	}
	return c
}

// fail answers a request whose session could not be loaded or stored.
func (s *server) fail(w http.ResponseWriter, err error) {
	s.log.Warn("session store", "err", err)
	code := http.StatusInternalServerError
	var ne *sessions.NodeError
	if errors.Is(err, sessions.ErrNoNode) || errors.As(err, &ne) {
		code = http.StatusServiceUnavailable
	}
	http.Error(w, "session store unavailable: "+err.Error(), code)
}

// sessionJSON is the /api/session document (DESIGN.md contract).
type sessionJSON struct {
	ID         string            `json:"id"`
	Server     string            `json:"server"`
	Node       string            `json:"node"`
	Created    string            `json:"created"`
	LastAccess string            `json:"last_access"`
	Attributes map[string]string `json:"attributes"`
}

func (s *server) view(sess *sessions.Session) sessionJSON {
	return sessionJSON{
		ID: sess.ID, Server: s.cfg.Name, Node: sess.Node,
		Created: stamp(sess.Created), LastAccess: stamp(sess.LastAccess), Attributes: sess.Attributes,
	}
}

func stamp(t time.Time) string { return t.UTC().Format("2006-01-02T15:04:05.000Z07:00") }

// withSession runs change on the request's session (created when there is
// none), commits, and answers with the session document.
func (s *server) withSession(w http.ResponseWriter, r *http.Request, change func(*sessions.Session) (int, string)) {
	t, err := s.begin(r)
	if err != nil {
		s.fail(w, err)
		return
	}
	sess, err := t.Create()
	if err != nil {
		t.Commit(r.Context())
		s.fail(w, err)
		return
	}
	view := s.view(sess) // last_access as before this request
	if code, msg := change(sess); code != 0 {
		t.Commit(r.Context())
		http.Error(w, msg, code)
		return
	}
	if err := s.commit(w, r, t); err != nil {
		s.fail(w, err)
		return
	}
	sess = t.Session() // after commit: the stored copy, merged and maybe moved
	view.ID, view.Node, view.Attributes = sess.ID, sess.Node, sess.Attributes
	w.Header().Set("Content-Type", "application/json")
	w.Header().Set("Cache-Control", "no-store")
	json.NewEncoder(w).Encode(view)
}

func (s *server) apiGet(w http.ResponseWriter, r *http.Request) {
	s.withSession(w, r, func(*sessions.Session) (int, string) { return 0, "" })
}

func (s *server) apiPut(w http.ResponseWriter, r *http.Request) {
	key := r.PathValue("key")
	body, err := io.ReadAll(http.MaxBytesReader(w, r.Body, maxValueLen))
	if err != nil {
		http.Error(w, "value too large (max 64 KiB)", http.StatusRequestEntityTooLarge)
		return
	}
	if msg := checkAttr(key, string(body)); msg != "" {
		http.Error(w, msg, http.StatusBadRequest)
		return
	}
	s.withSession(w, r, func(sess *sessions.Session) (int, string) {
		if _, ok := sess.Attributes[key]; !ok && len(sess.Attributes) >= maxAttrs {
			return http.StatusConflict, "too many attributes"
		}
		sess.Attributes[key] = string(body)
		return 0, ""
	})
}

func (s *server) apiDelete(w http.ResponseWriter, r *http.Request) {
	key := r.PathValue("key")
	s.withSession(w, r, func(sess *sessions.Session) (int, string) {
		delete(sess.Attributes, key)
		return 0, ""
	})
}

// apiInvalidate ends the session (logout).
func (s *server) apiInvalidate(w http.ResponseWriter, r *http.Request) {
	t, err := s.begin(r)
	if err != nil {
		s.fail(w, err)
		return
	}
	t.Invalidate()
	if err := s.commit(w, r, t); err != nil {
		s.fail(w, err)
		return
	}
	w.WriteHeader(http.StatusNoContent)
}

func checkAttr(key, value string) string {
	switch {
	case key == "" || len(key) > maxKeyLen || !utf8.ValidString(key):
		return "attribute name must be 1-256 bytes of UTF-8"
	case len(value) > maxValueLen || !utf8.ValidString(value):
		return "attribute value must be UTF-8, at most 64 KiB"
	}
	return ""
}

// sessionCtxKey carries the request's Txn to the upstream proxy hooks.
type sessionCtxKey struct{}

func withTxn(ctx context.Context, t *sessions.Txn) context.Context {
	return context.WithValue(ctx, sessionCtxKey{}, t)
}

func txnFrom(ctx context.Context) *sessions.Txn {
	t, _ := ctx.Value(sessionCtxKey{}).(*sessions.Txn)
	return t
}
