package proxy

import (
	"net"
	"regexp"
	"strings"
	"testing"
	"time"
)

// The expected values were computed independently (Python hashlib/hmac over
// the packed struct sockaddr_in / sockaddr_in6), the way
// nginx-sticky-module-ng digests a peer.
func TestRouteValue(t *testing.T) {
	v4 := &net.TCPAddr{IP: net.ParseIP("127.0.0.1"), Port: 8080}
	v6 := &net.TCPAddr{IP: net.ParseIP("::1"), Port: 8080}
	tests := []struct {
		name string
		opt  Sticky
		addr *net.TCPAddr
		i    int
		want string
	}{
		{"md5", Sticky{Hash: "md5"}, v4, 0, "48a3d0dc88dd3a2f242b7f5cc6400836"},
		{"sha1", Sticky{Hash: "sha1"}, v4, 0, "dd2c29a60770481162a27af95e58b6f71efabfde"},
		{"hmac", Sticky{Hash: "hmac", HMACKey: "secret"}, v4, 0, "97acad7ebaa76408c966e7f727145ff0"},
		{"hmac-sha1", Sticky{Hash: "hmac-sha1", HMACKey: "secret"}, v4, 0, "213b682f8c6cacdd1147dee2ac3616f2b1fc96e4"},
		{"index", Sticky{Hash: "index"}, v4, 3, "3"},
		{"md5 ipv6", Sticky{Hash: "md5"}, v6, 0, "a3570669e363b50d393705a94d0f0a48"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := routeValue(tt.opt, tt.i, tt.addr)
			if err != nil {
				t.Fatal(err)
			}
			if got != tt.want {
				t.Errorf("got %s; want %s", got, tt.want)
			}
		})
	}
}

func TestSetCookieFormat(t *testing.T) {
	now := time.Date(2026, 11, 24, 12, 0, 0, 0, time.UTC)
	addrs := []*net.TCPAddr{{IP: net.ParseIP("127.0.0.1"), Port: 8080}}
	tests := []struct {
		name string
		opt  Sticky
		want string
	}{
		{"defaults", Sticky{Name: "route", Hash: "index", Path: "/"}, "route=0; Path=/"},
		{"all options", Sticky{Name: "srv", Hash: "index", Path: "/app", Domain: ".example.com", Expires: Duration(time.Hour), Secure: true, HTTPOnly: true, SameSite: "lax"},
			"srv=0; Domain=.example.com; Expires=Tue, 24-Nov-2026 13:00:00 GMT; Path=/app; Secure; HttpOnly; SameSite=Lax"},
		{"samesite none", Sticky{Name: "route", Hash: "index", Path: "/", SameSite: "None"}, "route=0; Path=/; SameSite=None"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s, err := newSticky(tt.opt, addrs)
			if err != nil {
				t.Fatal(err)
			}
			if got := string(s.setCookie(nil, 0, now)); got != tt.want {
				t.Errorf("got %q; want %q", got, tt.want)
			}
		})
	}
}

// TestStickyModes checks, for every hash mode, that a new client gets the
// module's cookie for the backend that answered and that the cookie then
// keeps it there without a new Set-Cookie.
func TestStickyModes(t *testing.T) {
	a, b := namedBackend(t, "a"), namedBackend(t, "b")
	for _, hash := range []string{"md5", "sha1", "index", "hmac"} {
		t.Run(hash, func(t *testing.T) {
			cfg := backendsConfig(a, b)
			cfg.Sticky = Sticky{Hash: hash, HMACKey: "k", Expires: Duration(time.Hour), HTTPOnly: true, Domain: "example.test"}
			p, url := startProxy(t, cfg)
			c := newClient()
			st := p.state.Load()
			for range 4 {
				_, body, sc := get(t, c, url+"/", "")
				i := map[string]int{"a": 0, "b": 1}[body]
				want := `^route=` + regexp.QuoteMeta(st.sticky.values[i]) + `; Domain=example.test; Expires=[A-Z][a-z]{2}, \d\d-[A-Z][a-z]{2}-\d{4} \d\d:\d\d:\d\d GMT; Path=/; HttpOnly$`
				if !regexp.MustCompile(want).MatchString(sc) {
					t.Fatalf("Set-Cookie %q; want match %s", sc, want)
				}
				for range 3 {
					_, got, sc2 := get(t, c, url+"/", "route="+cookieValue(sc, "route"))
					if got != body || sc2 != "" {
						t.Fatalf("with cookie: got backend %q, Set-Cookie %q; want %q and none", got, sc2, body)
					}
				}
			}
		})
	}
}

func TestFallbackRepointsCookie(t *testing.T) {
	a, b := namedBackend(t, "a"), namedBackend(t, "b")
	_, url := startProxy(t, backendsConfig(a, b))
	c := newClient()
	// Find a's cookie.
	var cookieA string
	for cookieA == "" {
		_, body, sc := get(t, c, url, "")
		if body == "a" {
			cookieA = cookieValue(sc, "route")
		}
	}
	a.Close()
	status, body, sc := get(t, c, url, "route="+cookieA)
	if status != 200 || body != "b" {
		t.Fatalf("after a died: got %d %q; want 200 from b", status, body)
	}
	if v := cookieValue(sc, "route"); v == "" || v == cookieA {
		t.Fatalf("Set-Cookie %q; want the cookie re-pointed to b", sc)
	}
	_, body, _ = get(t, c, url, "route="+cookieValue(sc, "route"))
	if body != "b" {
		t.Errorf("re-pointed cookie went to %q; want b", body)
	}
}

func TestNoFallback(t *testing.T) {
	a, b := namedBackend(t, "a"), namedBackend(t, "b")
	cfg := backendsConfig(a, b)
	cfg.Sticky.NoFallback = true
	cfg.Sticky.Hash = "index"
	_, url := startProxy(t, cfg)
	c := newClient()
	a.Close()
	status, _, _ := get(t, c, url, "route=0")
	if status != 502 {
		t.Errorf("cookie for dead backend with no_fallback: got %d; want 502", status)
	}
	// Passive health now marks a down: still 502, without a connect attempt.
	if status, _, _ := get(t, c, url, "route=0"); status != 502 {
		t.Errorf("second request: got %d; want 502", status)
	}
	if status, body, _ := get(t, c, url, ""); status != 200 || body != "b" {
		t.Errorf("no cookie: got %d %q; want 200 from b", status, body)
	}
}

func TestForgedCookie(t *testing.T) {
	a, b := namedBackend(t, "a"), namedBackend(t, "b")
	_, url := startProxy(t, backendsConfig(a, b))
	c := newClient()
	for _, v := range []string{"forged", "0", "48a3d0dc88dd3a2f242b7f5cc6400836", strings.Repeat("f", 32)} {
		status, _, sc := get(t, c, url, "route="+v)
		if status != 200 || cookieValue(sc, "route") == "" {
			t.Errorf("cookie %q: got %d, Set-Cookie %q; want 200 and a fresh cookie", v, status, sc)
		}
	}
}

func TestTwoProxiesAgree(t *testing.T) {
	a, b := namedBackend(t, "a"), namedBackend(t, "b")
	_, url1 := startProxy(t, backendsConfig(a, b))
	_, url2 := startProxy(t, backendsConfig(a, b))
	c := newClient()
	for range 4 {
		_, body, sc := get(t, c, url1, "")
		for range 2 {
			if _, got, _ := get(t, c, url2, "route="+cookieValue(sc, "route")); got != body {
				t.Fatalf("proxy 2 routed proxy 1's cookie to %q; want %q", got, body)
			}
		}
	}
}
