package verify

import (
	"crypto/rand"
	"encoding/json"
	"io"
	"maps"
	"net"
	"net/http"
	"strings"
	"sync"
	"testing"
)

// fakeSession is a stored session; v orders copies of it, so that an app
// holding an old local copy takes the newer one from its node.
type fakeSession struct {
	v     int
	attrs map[string]string
}

// fakeNode is a session store standing in for a cache node.
type fakeNode struct {
	mu   sync.Mutex
	up   bool
	data map[string]fakeSession
}

func (n *fakeNode) get(id string) (fakeSession, bool) {
	n.mu.Lock()
	defer n.mu.Unlock()
	s, ok := n.data[id]
	return s, ok && n.up
}

func (n *fakeNode) put(id string, s fakeSession) bool {
	n.mu.Lock()
	defer n.mu.Unlock()
	if !n.up {
		return false
	}
	n.data[id] = s
	return true
}

func (n *fakeNode) setUp(up bool) {
	n.mu.Lock()
	defer n.mu.Unlock()
	n.up = up
	if up {
		n.data = map[string]fakeSession{} // a restarted cache is empty
	}
}

// fakeApp is a small stand-in for the app agent with its session API:
// sessions "<id>-<node>" live on cache nodes, cross-stored (primary on
// another host, failover on its own), with a local copy as in MSM's
// sticky mode. With shared false sessions stay in the app's memory only:
// a broken tier that verify must catch.
type fakeApp struct {
	name, host, addr  string
	primary, failover string
	tier              *fakeTier

	mu    sync.Mutex
	srv   *http.Server
	local map[string]fakeSession
}

func (a *fakeApp) start(t testing.TB) {
	ln, err := net.Listen("tcp", a.addr)
	if err != nil {
		t.Errorf("fake app %s: %v", a.name, err)
		return
	}
	if got := ln.Addr().String(); got != a.addr {
		a.addr = got // first start on port 0; a restart keeps the address
	}
	mux := http.NewServeMux()
	mux.HandleFunc("GET /health", func(http.ResponseWriter, *http.Request) {})
	mux.HandleFunc("GET /api/session", func(w http.ResponseWriter, r *http.Request) { a.serve(w, r, nil) })
	mux.HandleFunc("PUT /api/session/attributes/{key}", func(w http.ResponseWriter, r *http.Request) {
		b, _ := io.ReadAll(r.Body)
		a.serve(w, r, func(m map[string]string) { m[r.PathValue("key")] = string(b) })
	})
	mux.HandleFunc("DELETE /api/session/attributes/{key}", func(w http.ResponseWriter, r *http.Request) {
		a.serve(w, r, func(m map[string]string) { delete(m, r.PathValue("key")) })
	})
	srv := &http.Server{Handler: mux}
	a.mu.Lock()
	a.srv = srv
	a.mu.Unlock()
	go srv.Serve(ln)
}

func (a *fakeApp) stop() {
	a.mu.Lock()
	srv := a.srv
	a.mu.Unlock()
	if srv != nil {
		srv.Close()
	}
	a.mu.Lock()
	a.local = map[string]fakeSession{} // a stopped process forgets
	a.mu.Unlock()
}

func (a *fakeApp) serve(w http.ResponseWriter, r *http.Request, change func(map[string]string)) {
	id := ""
	if c, err := r.Cookie("JSESSIONID"); err == nil {
		id = c.Value
	}
	sess, id := a.load(id)
	attrs := maps.Clone(sess.attrs)
	if change != nil {
		change(attrs)
	}
	newID, ok := a.store(id, fakeSession{v: sess.v + 1, attrs: attrs})
	if !ok {
		http.Error(w, "no session node up", http.StatusServiceUnavailable)
		return
	}
	if newID != id {
		http.SetCookie(w, &http.Cookie{Name: "JSESSIONID", Value: newID, Path: "/"})
	}
	_, node, _ := strings.Cut(newID, "-")
	json.NewEncoder(w).Encode(Session{ID: newID, Server: a.name, Node: node, Attributes: attrs})
}

// load finds the session: the newer of the local copy and its node's.
func (a *fakeApp) load(id string) (fakeSession, string) {
	a.mu.Lock()
	best, found := a.local[id]
	a.mu.Unlock()
	if _, node, ok := strings.Cut(id, "-"); ok && a.tier.shared {
		if n := a.tier.nodes[node]; n != nil {
			if s, ok := n.get(id); ok && (!found || s.v > best.v) {
				best, found = s, true
			}
		}
	}
	if !found {
		return fakeSession{attrs: map[string]string{}}, ""
	}
	return best, id
}

// store keeps the session locally and on its node, relocating it to the
// primary or failover node (a new id) when its node is down.
func (a *fakeApp) store(id string, s fakeSession) (string, bool) {
	base, node, _ := strings.Cut(id, "-")
	if id == "" {
		base = rand.Text()[:12]
	}
	if a.tier.shared {
		stored := false
		for _, n := range []string{node, a.primary, a.failover} {
			if fn := a.tier.nodes[n]; fn != nil && fn.put(base+"-"+n, s) {
				node, stored = n, true
				break
			}
		}
		if !stored {
			return "", false
		}
	} else if node == "" {
		node = a.primary
	}
	id = base + "-" + node
	a.mu.Lock()
	a.local[id] = s
	a.mu.Unlock()
	return id, true
}
