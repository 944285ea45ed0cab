package cache

import (
	"context"
	"io"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"
)

// TestEngineMemcached runs Main with engine memcached against the real
// binary: it must serve, restart memcached after a crash, and stop it
// when ctx ends.
func TestEngineMemcached(t *testing.T) {
	memcachedPath(t)
	addr := "127.0.0.1:" + strconv.Itoa(freePort(t))
	ctx, cancel := context.WithCancel(context.Background())
	stopped := make(chan struct{}) // closed when Main has returned mainErr
	var mainErr error
	go func() {
		defer close(stopped)
		mainErr = Main(ctx, []string{"-listen", addr, "-memory-mb", "16", "-engine", "memcached"}, io.Discard, io.Discard)
	}()
	defer func() {
		cancel()
		<-stopped
	}()
	v := waitVersion(t, addr, 10*time.Second)
	if strings.Contains(v, "stickyform") || !strings.HasPrefix(v, "VERSION ") {
		t.Fatalf("version: got %q; want real memcached's", v)
	}
	s := dialSession(t, addr)
	st := statsOf(t, s)
	if st["limit_maxbytes"] != strconv.Itoa(16<<20) {
		t.Errorf("limit_maxbytes: got %s; want %d (-m passed through)", st["limit_maxbytes"], 16<<20)
	}
	pid, _ := strconv.Atoi(st["pid"])
	if pid <= 0 {
		t.Fatalf("stats pid: got %q", st["pid"])
	}
	s.c.Close()

	// A crash (memcached is this test's grandchild) is followed by a restart.
	if err := syscall.Kill(pid, syscall.SIGKILL); err != nil {
		t.Fatalf("kill memcached %d: %v", pid, err)
	}
	deadline := time.Now().Add(10 * time.Second)
	for {
		if time.Now().After(deadline) {
			t.Fatalf("memcached was not restarted within 10s")
		}
		if _, err := askVersion(addr); err == nil {
			st := statsOf(t, dialSession(t, addr))
			if st["pid"] != strconv.Itoa(pid) {
				break
			}
		}
		time.Sleep(50 * time.Millisecond)
	}
	restarted, _ := strconv.Atoi(statsOf(t, dialSession(t, addr))["pid"])

	cancel()
	select {
	case <-stopped:
		if mainErr != nil {
			t.Errorf("Main after cancel: got %v; want nil", mainErr)
		}
	case <-time.After(10 * time.Second):
		t.Fatalf("Main did not return within 10s of cancel")
	}
	if err := syscall.Kill(restarted, 0); err == nil {
		t.Errorf("memcached pid %d still running after Main returned", restarted)
	}
}
