package verify

import (
	"bytes"
	"io"
	"net"
	"net/http"
	"sync"
	"time"
)

// fakeProxy is a small sticky proxy: cookie "route" = "r-<app>", new
// users round-robin, a failed backend is skipped (and re-checked by an
// active health check), and the request retried on the next one. With
// noRetry it answers 502 instead: a broken proxy verify must catch.
type fakeProxy struct {
	tier    *fakeTier
	noRetry bool
	client  *http.Client

	mu   sync.Mutex
	down map[string]bool
	next int
}

func newFakeProxy(t *fakeTier) *fakeProxy {
	return &fakeProxy{
		tier: t, down: map[string]bool{},
		client: &http.Client{
			Timeout:   2 * time.Second,
			Transport: &http.Transport{DialContext: (&net.Dialer{Timeout: 200 * time.Millisecond}).DialContext},
			// The proxy passes the app's redirects and cookies through.
			CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse },
		},
	}
}

// order lists the app indexes to try: the sticky one when it is up,
// then the others that are up from the round-robin position; when all
// are down, all of them.
func (p *fakeProxy) order(r *http.Request) []int {
	p.mu.Lock()
	defer p.mu.Unlock()
	apps := p.tier.apps
	var out []int
	if c, err := r.Cookie("route"); err == nil {
		for i, a := range apps {
			if "r-"+a.name == c.Value && !p.down[a.name] {
				out = append(out, i)
			}
		}
	}
	start := p.next
	p.next++
	for k := range apps {
		i := (start + k) % len(apps)
		if !p.down[apps[i].name] && (len(out) == 0 || out[0] != i) {
			out = append(out, i)
		}
	}
	if len(out) == 0 {
		for i := range apps {
			out = append(out, i)
		}
	}
	return out
}

func (p *fakeProxy) setDown(name string, down bool) {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.down[name] = down
}

func (p *fakeProxy) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	body, _ := io.ReadAll(r.Body)
	sticky := ""
	if c, err := r.Cookie("route"); err == nil {
		sticky = c.Value
	}
	for _, i := range p.order(r) {
		a := p.tier.apps[i]
		req, _ := http.NewRequestWithContext(r.Context(), r.Method, "http://"+a.addr+r.URL.RequestURI(), bytes.NewReader(body))
		req.Header = r.Header.Clone()
		resp, err := p.client.Do(req)
		if r.Context().Err() != nil {
			return // the client went away: not the backend's fault
		}
		if err != nil {
			p.setDown(a.name, true)
			if p.noRetry {
				break
			}
			continue
		}
		defer resp.Body.Close()
		for k, v := range resp.Header {
			w.Header()[k] = v
		}
		if sticky != "r-"+a.name {
			http.SetCookie(w, &http.Cookie{Name: "route", Value: "r-" + a.name, Path: "/"})
		}
		w.WriteHeader(resp.StatusCode)
		io.Copy(w, resp.Body)
		return
	}
	http.Error(w, "no backend", http.StatusBadGateway)
}

// check is the active health check: down apps come back when /health
// answers again.
func (p *fakeProxy) check() {
	for _, a := range p.tier.apps {
		resp, err := p.client.Get("http://" + a.addr + "/health")
		if err == nil {
			resp.Body.Close()
		}
		p.setDown(a.name, err != nil)
	}
}
