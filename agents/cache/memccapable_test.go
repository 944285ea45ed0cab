package cache

import (
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
)

// TestMemccapable runs libmemcached's protocol checker (memccapable from
// libmemcached-tools; memcapable in older packages), an independent
// third-party suite, against the agent: ASCII only with -a, and without
// it the binary protocol too.
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
	for _, tc := range []struct {
		name, want string
		flags      []string
	}{
		{"ascii", "ascii stat", []string{"-a"}},
		{"binary", "binary stat", nil},
	} {
		t.Run(tc.name, func(t *testing.T) {
			tg := startAgent(t, ServerConfig{})
			host, port, _ := net.SplitHostPort(tg.addr)
			args := append(tc.flags, "-h", host, "-p", port)
			out, err := exec.Command(bin, args...).CombinedOutput()
			if err != nil || !strings.Contains(string(out), "All tests passed") {
				t.Errorf("memccapable %v: %v\n%s", args, err, out)
			}
			if strings.Contains(string(out), "[fail]") || !strings.Contains(string(out), tc.want+" ") {
				t.Errorf("memccapable %v: got failures or no %q test:\n%s", args, tc.want, out)
			}
		})
	}
}

// TestLibmemcachedTools drives the agent with libmemcached's command-line
// clients, unmodified: copy a file in, read it back, check, dump the
// keys, delete, flush.
func TestLibmemcachedTools(t *testing.T) {
	for _, tool := range []string{"memccp", "memccat", "memcexist", "memcdump", "memcrm", "memcflush"} {
		if _, err := exec.LookPath(tool); err != nil {
			t.Skipf("%s not installed (libmemcached-tools; `make deps` installs it)", tool)
		}
	}
	tg := startAgent(t, ServerConfig{})
	servers := "--servers=" + tg.addr
	dir := t.TempDir()
	file := filepath.Join(dir, "greeting.txt")
	if err := os.WriteFile(file, []byte("hello from memccp\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	run := func(args ...string) (string, error) {
		out, err := exec.Command(args[0], append(args[1:], servers)...).CombinedOutput()
		return string(out), err
	}
	steps := []struct {
		args    []string
		want    string // substring of the output
		wantErr bool
	}{
		{[]string{"memccp", file}, "", false},
		{[]string{"memccat", "greeting.txt"}, "hello from memccp", false},
		{[]string{"memcexist", "greeting.txt"}, "", false},
		{[]string{"memcdump"}, "greeting.txt", false},
		{[]string{"memcrm", "greeting.txt"}, "", false},
		{[]string{"memcexist", "greeting.txt"}, "", true},
		{[]string{"memccp", file}, "", false},
		{[]string{"memcflush"}, "", false},
		{[]string{"memcexist", "greeting.txt"}, "", true},
	}
	for i, st := range steps {
		out, err := run(st.args...)
		if (err != nil) != st.wantErr || !strings.Contains(out, st.want) {
			t.Errorf("step %d %v: got %q, err %v; want output containing %q, error %v", i, st.args, out, err, st.want, st.wantErr)
		}
	}
}
