package proxy

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"regexp"
	"strings"
	"syscall"
	"testing"
	"time"
)

func freeAddr(t *testing.T) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	return ln.Addr().String()
}

func waitHTTP(t *testing.T, url string) {
	t.Helper()
	for deadline := time.Now().Add(5 * time.Second); time.Now().Before(deadline); time.Sleep(10 * time.Millisecond) {
		if resp, err := http.Get(url); err == nil {
			resp.Body.Close()
			return
		}
	}
	t.Fatalf("%s never answered", url)
}

func fetchStatus(t *testing.T, admin string) Status {
	t.Helper()
	resp, err := http.Get("http://" + admin + "/status")
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var s Status
	if err := json.NewDecoder(resp.Body).Decode(&s); err != nil {
		t.Fatal(err)
	}
	return s
}

// TestMainAdminReloadAccessLog runs the agent as `stickyform agent proxy`
// does: from a config file, with the admin listener and an access log, then
// rewrites the file and sends SIGHUP.
func TestMainAdminReloadAccessLog(t *testing.T) {
	a, b := namedBackend(t, "a"), namedBackend(t, "b")
	listen, admin := freeAddr(t), freeAddr(t)
	logPath := t.TempDir() + "/access.log"
	write := func(backends ...string) string {
		var bs []string
		for _, u := range backends {
			bs = append(bs, fmt.Sprintf(`{"url":%q,"weight":1}`, u))
		}
		return fmt.Sprintf(`{"name":"lb","listen":%q,"admin_listen":%q,"backends":[%s],"balance":"round-robin",
			"sticky":{"name":"route","hash":"md5","hmac_key":"","expires":"1h","domain":"","path":"/","secure":false,"httponly":true,"samesite":"","no_fallback":false},
			"health_check":{"path":"/health","interval":"1s","timeout":"1s","fall":3,"rise":2},"access_log":%q}`,
			listen, admin, strings.Join(bs, ","), logPath)
	}
	cfgPath := writeFile(t, write(a.URL))
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- Main(ctx, []string{"-config", cfgPath}, io.Discard, io.Discard) }()
	defer func() {
		cancel()
		if err := <-done; err != nil {
			t.Errorf("Main: %v", err)
		}
	}()
	waitHTTP(t, "http://"+admin+"/health")
	c := newClient()
	if status, body, _ := get(t, c, "http://"+listen+"/x", ""); status != 200 || body != "a" {
		t.Fatalf("got %d %q; want 200 from a", status, body)
	}
	if s := fetchStatus(t, admin); len(s.Backends) != 1 || s.Name != "lb" || !s.Backends[0].Up {
		t.Fatalf("status: got %+v; want lb with one live backend", s)
	}
	if err := os.WriteFile(cfgPath, []byte(write(a.URL, b.URL)), 0o600); err != nil {
		t.Fatal(err)
	}
	if err := syscall.Kill(os.Getpid(), syscall.SIGHUP); err != nil {
		t.Fatal(err)
	}
	for deadline := time.Now().Add(5 * time.Second); len(fetchStatus(t, admin).Backends) != 2; time.Sleep(10 * time.Millisecond) {
		if time.Now().After(deadline) {
			t.Fatal("SIGHUP did not load the second backend")
		}
	}
	resp, err := http.Get("http://" + admin + "/metrics")
	if err != nil {
		t.Fatal(err)
	}
	metrics, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if want := fmt.Sprintf(`stickyform_proxy_backend_requests_total{backend=%q} 1`, a.URL); !strings.Contains(string(metrics), want) {
		t.Errorf("metrics lack %s:\n%s", want, metrics)
	}
	cancel()
	if err := <-done; err != nil {
		t.Errorf("Main: %v", err)
	}
	done <- nil
	logged, err := os.ReadFile(logPath)
	if err != nil {
		t.Fatal(err)
	}
	line := `^127\.0\.0\.1 - - \[\d\d/\w{3}/\d{4}:\d\d:\d\d:\d\d [+-]\d{4}\] "GET /x HTTP/1\.1" 200 1 "-" "Go-http-client/1\.1" ` +
		regexp.QuoteMeta(strings.TrimPrefix(a.URL, "http://")) + ` \d+\.\d{3}\n$`
	if !regexp.MustCompile(line).Match(logged) {
		t.Errorf("access log %q; want match %s", logged, line)
	}
}
