package cache

import (
	"net"
	"os/exec"
	"strings"
	"testing"
)

// TestMemccapable runs libmemcached's protocol checker (memccapable from
// libmemcached-tools; memcapable in older packages), an independent
// third-party suite, in ASCII mode against the agent.
func TestMemccapable(t *testing.T) {
	bin := ""
	for _, name := range []string{"memccapable", "memcapable"} {
		if p, err := exec.LookPath(name); err == nil {
			bin = p
			break
		}
	}
	if bin == "" {
		t.Skip("memccapable not installed (libmemcached-tools; `make deps` installs it)")
	}
	tg := startAgent(t, ServerConfig{})
	host, port, _ := net.SplitHostPort(tg.addr)
	out, err := exec.Command(bin, "-a", "-h", host, "-p", port).CombinedOutput()
	if err != nil || !strings.Contains(string(out), "All tests passed") {
		t.Errorf("memccapable -a: %v\n%s", err, out)
	}
	if strings.Contains(string(out), "[fail]") {
		t.Errorf("memccapable reported failures:\n%s", out)
	}
}
