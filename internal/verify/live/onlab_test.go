package live_test

import (
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/cookiejar"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/stickyform/stickyform/internal/engine"
	"github.com/stickyform/stickyform/internal/verify"
)

// TestClassicOnLab deploys examples/classic on a fresh lab once and proves
// failover on it three ways: verify's own scenarios, an independent
// client that cuts the sticky host itself, and a real browser.
func TestClassicOnLab(t *testing.T) {
	c := deployClassic(t)
	t.Run("independent client keeps its session through a host cut", func(t *testing.T) {
		independentCut(t, c)
	})
	t.Run("verify passes every scenario", func(t *testing.T) {
		rep, err := c.verifyJSON(t, "-duration", "2s")
		if err != nil {
			t.Errorf("verify: %v", err)
		}
		var names []string
		for _, s := range rep.Scenarios {
			names = append(names, s.Name)
			if !s.Pass || s.Skipped {
				t.Errorf("%s: pass=%v skipped=%v errors=%d detail=%q; want a pass on the lab", s.Name, s.Pass, s.Skipped, s.Errors, s.Detail)
			}
		}
		if !slices.Equal(names, verify.Scenarios()) {
			t.Errorf("scenarios: got %v; want %v", names, verify.Scenarios())
		}
	})
	t.Run("browser shows the session after the sticky host is cut", func(t *testing.T) {
		browserCut(t, c)
	})
}

// session is the app's /api/session document, decoded here without
// verify's code so that this test checks verify, not itself.
type session struct {
	ID         string            `json:"id"`
	Server     string            `json:"server"`
	Attributes map[string]string `json:"attributes"`
}

// user is a plain net/http client with a cookie jar.
type user struct{ c *http.Client }

func newUser() *user {
	jar, _ := cookiejar.New(nil)
	return &user{&http.Client{Jar: jar, Timeout: 30 * time.Second}}
}

func (u *user) do(method, path, body string) (*session, error) {
	req, err := http.NewRequest(method, "http://172.25.1.2"+path, strings.NewReader(body))
	if err != nil {
		return nil, err
	}
	resp, err := u.c.Do(req)
	if err != nil {
		return nil, err
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	if resp.StatusCode != http.StatusOK {
		return nil, fmt.Errorf("%s %s: %s: %s", method, path, resp.Status, b)
	}
	var s session
	return &s, json.Unmarshal(b, &s)
}

// hostOf returns the host of app server name, from the state.
func hostOf(t *testing.T, c *classic, server string) string {
	t.Helper()
	st, err := engine.LoadState(c.dir)
	if err != nil {
		t.Fatal(err)
	}
	for _, r := range st.Resources {
		if r.Kind == "app" && r.Name == server {
			return r.HostName
		}
	}
	t.Fatalf("no app %q in the state", server)
	return ""
}

// independentCut stores attributes, cuts the network of the host of the
// app serving them (app and cache vanish without a goodbye), and reads
// the session back every 20ms meanwhile: no request may fail and every
// answer must hold the attributes.
func independentCut(t *testing.T, c *classic) {
	u := newUser()
	want := map[string]string{"color": "blue", "count": "42"}
	var first *session
	for k, v := range want {
		s, err := u.do(http.MethodPut, "/api/session/attributes/"+k, v)
		if err != nil {
			t.Fatalf("store %s: %v", k, err)
		}
		first = s
	}
	host := hostOf(t, c, first.Server)
	var mu sync.Mutex
	var failures []string
	servers := map[string]int{}
	var worst time.Duration
	stop := make(chan struct{})
	done := make(chan struct{})
	go func() {
		defer close(done)
		for n := 0; ; n++ {
			select {
			case <-stop:
				return
			case <-time.After(20 * time.Millisecond):
			}
			start := time.Now()
			s, err := u.do(http.MethodGet, "/api/session", "")
			mu.Lock()
			worst = max(worst, time.Since(start))
			switch {
			case err != nil:
				failures = append(failures, err.Error())
			case !sameAttrs(s.Attributes, want):
				failures = append(failures, fmt.Sprintf("request %d on %s: attributes %v; want %v", n, s.Server, s.Attributes, want))
			default:
				servers[s.Server]++
			}
			mu.Unlock()
		}
	}()
	time.Sleep(500 * time.Millisecond)
	if err := c.lab.CutHost(host); err != nil {
		t.Fatalf("cut %s: %v", host, err)
	}
	// Keep the host cut until the other app has served the session a few
	// times: the proxy must notice a silent backend by itself.
	tookOver := func() bool {
		mu.Lock()
		defer mu.Unlock()
		n := 0
		for s, k := range servers {
			if s != first.Server {
				n += k
			}
		}
		return n >= 5
	}
	for deadline := time.Now().Add(45 * time.Second); !tookOver() && time.Now().Before(deadline); {
		time.Sleep(100 * time.Millisecond)
	}
	if err := c.lab.RestoreHost(host); err != nil {
		t.Errorf("restore %s: %v", host, err)
	}
	close(stop)
	<-done
	t.Logf("cut %s (app %s): answers per server %v, failures %d, worst latency %s", host, first.Server, servers, len(failures), worst.Round(time.Millisecond))
	if len(failures) > 0 {
		t.Errorf("%d failed or wrong answers while %s was cut; first: %s", len(failures), host, failures[0])
	}
	if len(servers) < 2 {
		t.Errorf("answers came from %v; want the other app to take over from %s", servers, first.Server)
	}
	waitBothApps(t)
}

func sameAttrs(got, want map[string]string) bool {
	for k, v := range want {
		if got[k] != v {
			return false
		}
	}
	return true
}

// waitBothApps waits until fresh users reach both apps again, so the next
// check starts from a whole tier.
func waitBothApps(t *testing.T) {
	t.Helper()
	deadline := time.Now().Add(30 * time.Second)
	seen := map[string]bool{}
	for len(seen) < 2 && time.Now().Before(deadline) {
		if s, err := newUser().do(http.MethodGet, "/api/session", ""); err == nil {
			seen[s.Server] = true
		}
		time.Sleep(100 * time.Millisecond)
	}
	if len(seen) < 2 {
		t.Fatalf("after the repair fresh users reach only %v", seen)
	}
}
