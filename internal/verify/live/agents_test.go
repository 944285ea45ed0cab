package live_test

import (
	"bufio"
	"context"
	"fmt"
	"io"
	"net"
	"net/http"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/stickyform/stickyform/agents/app"
	"github.com/stickyform/stickyform/agents/cache"
	"github.com/stickyform/stickyform/agents/proxy"
	"github.com/stickyform/stickyform/internal/verify"
)

// agent is one real agent running in this process until stopped.
type agent struct {
	main   func(context.Context, []string, io.Writer, io.Writer) error
	args   []string
	listen string
	ready  func(addr string) error
	cancel context.CancelFunc
	done   chan error
}

func (a *agent) start(ctx context.Context) error {
	actx, cancel := context.WithCancel(context.Background())
	a.cancel, a.done = cancel, make(chan error, 1)
	go func() { a.done <- a.main(actx, a.args, io.Discard, io.Discard) }()
	for ctx.Err() == nil {
		select {
		case err := <-a.done:
			return fmt.Errorf("agent on %s exited: %v", a.listen, err)
		default:
		}
		if a.ready(a.listen) == nil {
			return nil
		}
		time.Sleep(20 * time.Millisecond)
	}
	a.stop()
	return ctx.Err()
}

func (a *agent) stop() {
	if a.cancel != nil {
		a.cancel()
		<-a.done
		a.cancel = nil
	}
}

// localTier is the classic topology of real agents on loopback: server3
// is 127.0.0.3, server4 127.0.0.4, the proxy 127.0.0.2. It is verify's
// Controller: Stop and Start end and restart agents in this process.
type localTier struct {
	mu     sync.Mutex
	agents map[string]*agent
}

func (l *localTier) get(addr string) (*agent, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	a := l.agents[addr]
	if a == nil {
		return nil, fmt.Errorf("no resource %s", addr)
	}
	return a, nil
}

func (l *localTier) Stop(_ context.Context, addr string) error {
	a, err := l.get(addr)
	if err == nil {
		a.stop()
	}
	return err
}

func (l *localTier) Start(ctx context.Context, addr string) error {
	a, err := l.get(addr)
	if err != nil {
		return err
	}
	return a.start(ctx)
}

// Reload is not available in-process: the proxy reloads on SIGHUP to
// its own process. The proxy-reload scenario runs on the lab.
func (l *localTier) Reload(context.Context, string) error {
	return fmt.Errorf("reload is not supported in-process")
}

func (l *localTier) Drift(context.Context) ([]string, error) { return nil, nil }

// freePort returns a port free on ip.
func freePort(t *testing.T, ip string) string {
	t.Helper()
	ln, err := net.Listen("tcp", ip+":0")
	if err != nil {
		t.Skipf("cannot listen on %s: %v", ip, err)
	}
	defer ln.Close()
	return ln.Addr().String()
}

func httpReady(path string) func(string) error {
	return func(addr string) error {
		resp, err := http.Get("http://" + addr + path)
		if err != nil {
			return err
		}
		resp.Body.Close()
		if resp.StatusCode != http.StatusOK {
			return fmt.Errorf("%s", resp.Status)
		}
		return nil
	}
}

func cacheReady(addr string) error {
	c, err := net.DialTimeout("tcp", addr, time.Second)
	if err != nil {
		return err
	}
	defer c.Close()
	c.SetDeadline(time.Now().Add(time.Second))
	fmt.Fprint(c, "version\r\n")
	line, err := bufio.NewReader(c).ReadString('\n')
	if err != nil || !strings.HasPrefix(line, "VERSION") {
		return fmt.Errorf("cache not ready: %q %v", line, err)
	}
	return nil
}

// startLocalTier starts two caches, two apps (cross-stored) and a sticky
// proxy with fast health checks, and stops them when the test ends.
func startLocalTier(t *testing.T) (*localTier, *verify.Deployment) {
	n3, n4 := freePort(t, "127.0.0.3"), freePort(t, "127.0.0.4")
	t1, t2 := freePort(t, "127.0.0.3"), freePort(t, "127.0.0.4")
	lb := freePort(t, "127.0.0.2")
	nodes := "n3:" + n3 + " n4:" + n4
	l := &localTier{agents: map[string]*agent{
		"cache.n3": {main: cache.Main, listen: n3, ready: cacheReady, args: []string{"-listen", n3, "-memory-mb", "16"}},
		"cache.n4": {main: cache.Main, listen: n4, ready: cacheReady, args: []string{"-listen", n4, "-memory-mb", "16"}},
		"app.tomcat1": {main: app.Main, listen: t1, ready: httpReady("/health"),
			args: []string{"-listen", t1, "-name", "tomcat1", "-nodes", nodes, "-failover-nodes", "n3"}},
		"app.tomcat2": {main: app.Main, listen: t2, ready: httpReady("/health"),
			args: []string{"-listen", t2, "-name", "tomcat2", "-nodes", nodes, "-failover-nodes", "n4"}},
		"proxy.lb": {main: proxy.Main, listen: lb, ready: httpReady("/health"),
			args: []string{"-listen", lb, "-admin-listen", "off", "-access-log", "", "-backend", "http://" + t1, "-backend", "http://" + t2,
				"-health-interval", "200ms", "-health-rise", "1", "-health-fall", "2", "-fail-timeout", "2s"}},
	}}
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	for _, addr := range []string{"cache.n3", "cache.n4", "app.tomcat1", "app.tomcat2", "proxy.lb"} {
		a := l.agents[addr]
		t.Cleanup(a.stop)
		if err := a.start(ctx); err != nil {
			t.Fatalf("start %s: %v", addr, err)
		}
	}
	d := &verify.Deployment{
		URL: "http://" + lb + "/", Route: "route", Control: l,
		Proxy: verify.Component{Addr: "proxy.lb", Name: "lb", Host: "server2"},
		Apps: []verify.Component{
			{Addr: "app.tomcat1", Name: "tomcat1", Host: "server3", Primary: []string{"n4"}},
			{Addr: "app.tomcat2", Name: "tomcat2", Host: "server4", Primary: []string{"n3"}},
		},
		Caches: []verify.Component{
			{Addr: "cache.n3", Name: "n3", Host: "server3"},
			{Addr: "cache.n4", Name: "n4", Host: "server4"},
		},
	}
	return l, d
}

// TestVerifyRealAgentsInProcess runs verify's scenarios against the real
// agents on loopback: no lab (no root) needed, so it runs everywhere.
func TestVerifyRealAgentsInProcess(t *testing.T) {
	_, d := startLocalTier(t)
	o := verify.Options{Duration: time.Second, Users: 2, SettleTimeout: 20 * time.Second,
		Scenarios: []string{"sticky", "session", "app-down", "cache-down", "host-down", "recovery"}}
	rep, err := verify.Run(context.Background(), d, o)
	if err != nil {
		t.Fatalf("verify: %v", err)
	}
	var table strings.Builder
	rep.WriteTable(&table)
	t.Logf("verify against in-process agents:\n%s", table.String())
	for _, s := range rep.Scenarios {
		if !s.Pass {
			t.Errorf("%s: failed: %s", s.Name, s.Detail)
		}
	}
}
