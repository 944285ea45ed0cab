package cache

import (
	"bufio"
	"net"
	"os"
	"os/exec"
	"strconv"
	"sync"
	"testing"
	"time"
)

// target is a memcached-protocol server a test talks to.
type target struct {
	name string
	addr string
	srv  *Server // nil for real memcached
}

// startAgent serves cfg on a fresh loopback port until the test ends.
func startAgent(t testing.TB, cfg ServerConfig) target {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatalf("listen: %v", err)
	}
	srv := NewServer(cfg)
	var wg sync.WaitGroup
	wg.Add(1)
	go func() {
		defer wg.Done()
		if err := srv.Serve(ln); err != nil {
			t.Errorf("serve: %v", err)
		}
	}()
	t.Cleanup(func() {
		srv.Close()
		wg.Wait()
	})
	return target{name: "agent", addr: ln.Addr().String(), srv: srv}
}

// memcachedPath returns the real memcached binary or skips the test.
func memcachedPath(t testing.TB) string {
	t.Helper()
	p, err := exec.LookPath("memcached")
	if err != nil {
		if _, err := os.Stat("/usr/bin/memcached"); err != nil {
			t.Skip("real memcached not installed (/usr/bin/memcached missing; `make deps` installs it): skipping the memcached half")
		}
		p = "/usr/bin/memcached"
	}
	return p
}

// freePort returns a loopback port that was free a moment ago.
func freePort(t testing.TB) int {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatalf("listen: %v", err)
	}
	defer ln.Close()
	return ln.Addr().(*net.TCPAddr).Port
}

// startMemcached runs the real memcached on a free loopback port, killed
// by PID when the test ends.
func startMemcached(t testing.TB, extra ...string) target {
	t.Helper()
	bin := memcachedPath(t)
	port := freePort(t)
	args := []string{"-l", "127.0.0.1", "-p", strconv.Itoa(port), "-U", "0", "-m", "64", "-t", "2"}
	if os.Geteuid() == 0 {
		args = append(args, "-u", unprivilegedUser())
	}
	cmd := exec.Command(bin, append(args, extra...)...)
	if err := cmd.Start(); err != nil {
		t.Fatalf("start memcached: %v", err)
	}
	t.Cleanup(func() {
		cmd.Process.Kill()
		cmd.Wait()
	})
	addr := net.JoinHostPort("127.0.0.1", strconv.Itoa(port))
	waitVersion(t, addr, 5*time.Second)
	return target{name: "memcached", addr: addr}
}

// waitVersion waits until addr answers "version".
func waitVersion(t testing.TB, addr string, limit time.Duration) string {
	t.Helper()
	deadline := time.Now().Add(limit)
	for {
		v, err := askVersion(addr)
		if err == nil {
			return v
		}
		if time.Now().After(deadline) {
			t.Fatalf("server at %s never answered version: %v", addr, err)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

func askVersion(addr string) (string, error) {
	c, err := net.DialTimeout("tcp", addr, time.Second)
	if err != nil {
		return "", err
	}
	defer c.Close()
	c.SetDeadline(time.Now().Add(time.Second))
	if _, err := c.Write([]byte("version\r\n")); err != nil {
		return "", err
	}
	return bufio.NewReader(c).ReadString('\n')
}

// targets returns the agent and, when installed, real memcached.
func targets(t *testing.T) []target {
	t.Helper()
	ts := []target{startAgent(t, ServerConfig{MemoryBytes: 64 << 20})}
	if _, err := exec.LookPath("memcached"); err == nil || fileExists("/usr/bin/memcached") {
		ts = append(ts, startMemcached(t))
	} else {
		t.Log("real memcached not installed: running the conformance suite against the agent only")
	}
	return ts
}

func fileExists(p string) bool {
	_, err := os.Stat(p)
	return err == nil
}
