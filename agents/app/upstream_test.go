package app

import (
	"encoding/json"
	"fmt"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
)

// exampleUpstream is the README's example app: it counts visits in the
// session, and deletes a key on /forget.
func exampleUpstream(t *testing.T) *httptest.Server {
	return httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		var attrs map[string]string
		if err := json.Unmarshal([]byte(r.Header.Get("X-Session-Attributes")), &attrs); err != nil {
			http.Error(w, "bad attributes header: "+err.Error(), 500)
			return
		}
		switch r.URL.Path {
		case "/forget":
			w.Header().Set("X-Session-Set", `{"visits":null}`)
		case "/broken":
			w.Header().Set("X-Session-Set", `{"visits":1}`) // not a string
		case "/logout":
			w.Header().Set("X-Session-Invalidate", "true")
		default:
			var n int
			fmt.Sscan(attrs["visits"], &n)
			w.Header().Set("X-Session-Set", fmt.Sprintf(`{"visits":"%d"}`, n+1))
		}
		fmt.Fprintf(w, "id=%s server=%s visits=%s greeting=%s",
			r.Header.Get("X-Session-Id"), r.Header.Get("X-Session-Server"), attrs["visits"], attrs["greeting"])
	}))
}

func TestUpstreamHeaderContract(t *testing.T) {
	n1 := startMemcached(t, "n1")
	up := exampleUpstream(t)
	defer up.Close()
	upAddr := up.Listener.Addr().(*net.TCPAddr).String()
	for _, mode := range []string{"sticky", "non-sticky"} {
		t.Run(mode, func(t *testing.T) {
			a := startApp(t, Config{Name: "front", Nodes: nodesFlag(n1), Mode: mode, Upstream: upAddr})

			r1 := call(t, "GET", a.url+"/page", "", "")
			if r1.code != 200 || r1.cookie == nil || !strings.Contains(r1.body, "id= server=front visits=") {
				t.Fatalf("first request: got %d %q cookie %v; want no session yet, then a cookie for visits=1", r1.code, r1.body, r1.cookie)
			}
			if h := r1.header.Get("X-Session-Set"); h != "" {
				t.Errorf("client saw X-Session-Set %q; want it stripped", h)
			}
			sid := r1.cookie.Value

			// The API and the upstream share the session; unicode survives
			// the ASCII-only header.
			call(t, "PUT", a.url+"/api/session/attributes/greeting", sid, "grüß 👋")
			r2 := call(t, "GET", a.url+"/page", sid, "")
			if want := fmt.Sprintf("id=%s server=front visits=1 greeting=grüß 👋", sid); r2.body != want {
				t.Fatalf("second request: got %q; want %q", r2.body, want)
			}
			if got := decodeSession(t, call(t, "GET", a.url+"/api/session", sid, "")); got.Attributes["visits"] != "2" {
				t.Fatalf("got visits=%q; want 2 stored from the upstream's X-Session-Set", got.Attributes["visits"])
			}

			call(t, "GET", a.url+"/forget", sid, "")
			if got := decodeSession(t, call(t, "GET", a.url+"/api/session", sid, "")); got.Attributes["visits"] != "" {
				t.Fatalf("got visits=%q after null; want the key deleted", got.Attributes["visits"])
			}
			if rb := call(t, "GET", a.url+"/broken", sid, ""); rb.code != 502 || !strings.Contains(rb.body, "X-Session-Set") {
				t.Errorf("got %d %q for a malformed X-Session-Set; want 502 naming the header", rb.code, rb.body)
			}
			r3 := call(t, "GET", a.url+"/logout", sid, "")
			if r3.cookie == nil || r3.cookie.MaxAge >= 0 {
				t.Fatalf("got cookie %v after X-Session-Invalidate; want it cleared", r3.cookie)
			}
			if got := decodeSession(t, call(t, "GET", a.url+"/api/session", sid, "")); got.ID == sid {
				t.Fatal("session still alive after X-Session-Invalidate")
			}
		})
	}
}

func TestUpstreamForgedHeadersStripped(t *testing.T) {
	n1 := startMemcached(t, "n1")
	up := exampleUpstream(t)
	defer up.Close()
	a := startApp(t, Config{Name: "front", Nodes: nodesFlag(n1), Upstream: up.Listener.Addr().String()})
	req, _ := http.NewRequest("GET", a.url+"/page", nil)
	req.Header.Set("X-Session-Id", "forged")
	req.Header.Set("X-Session-Attributes", `{"visits":"999"}`)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var b strings.Builder
	if _, err := fmt.Fprint(&b, readAll(t, resp)); err != nil {
		t.Fatal(err)
	}
	if got := b.String(); got != "id= server=front visits= greeting=" {
		t.Fatalf("got %q; want the forged X-Session-* headers dropped", got)
	}
}
