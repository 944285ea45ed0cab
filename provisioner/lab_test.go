package provisioner_test

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"os"
	"path/filepath"
	"runtime"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/stickyform/stickyform/internal/lab/labtest"
	"github.com/stickyform/stickyform/provisioner"
)

// TestLab runs the provisioner against real OpenSSH hosts of a fresh lab.
func TestLab(t *testing.T) {
	l := labtest.Start(t, 3)
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	dial := func(t *testing.T, host string, mod func(*provisioner.Target)) *provisioner.Client {
		t.Helper()
		h, err := l.Host(host)
		if err != nil {
			t.Fatal(err)
		}
		tg := l.Target(h)
		if mod != nil {
			mod(&tg)
		}
		c, err := provisioner.Dial(ctx, tg, provisioner.Options{KeepAliveInterval: 500 * time.Millisecond})
		if err != nil {
			t.Fatalf("Dial %s: %v", host, err)
		}
		t.Cleanup(func() { c.Close() })
		return c
	}

	t.Run("facts", func(t *testing.T) {
		f, err := dial(t, "server3", nil).Facts(ctx)
		if err != nil {
			t.Fatal(err)
		}
		if f.Arch != runtime.GOARCH || f.Hostname != "server3" || f.Systemd || f.OSID == "" {
			t.Errorf("Facts: got %+v; want arch %s, hostname server3, no systemd (masked in the lab), an OS id", f, runtime.GOARCH)
		}
		if !f.Commands["sha256sum"] || !f.Commands["sudo"] {
			t.Errorf("Commands: got %v; want sha256sum and sudo found", f.Commands)
		}
	})

	t.Run("upload skipped when hash matches", func(t *testing.T) {
		c := dial(t, "server2", nil)
		local := filepath.Join(t.TempDir(), "payload")
		os.WriteFile(local, []byte(strings.Repeat("lab payload\n", 5000)), 0o644)
		for i, want := range []bool{true, false} {
			sent, err := c.Upload(ctx, local, "/opt/stickyform/bin/payload", 0o755, nil)
			if err != nil || sent != want {
				t.Fatalf("Upload #%d: got sent=%v, %v; want sent=%v", i+1, sent, err, want)
			}
		}
		out, err := c.Run(ctx, "stat -c '%a %U' /opt/stickyform/bin/payload; sha256sum < /opt/stickyform/bin/payload", nil)
		if err != nil {
			t.Fatal(err)
		}
		if want := "755 root\n" + fileSum(t, local) + "  -\n"; string(out) != want {
			t.Errorf("remote file: got %q; want %q", out, want)
		}
	})

	t.Run("replace a running binary", func(t *testing.T) {
		c := dial(t, "server2", nil)
		const bin = "/opt/stickyform/bin/sleeper"
		if _, err := c.Upload(ctx, "/bin/sleep", bin, 0o755, nil); err != nil {
			t.Fatal(err)
		}
		pid, err := c.Run(ctx, bin+" 300 >/dev/null 2>&1 </dev/null & echo $!", nil)
		if err != nil {
			t.Fatal(err)
		}
		p := strings.TrimSpace(string(pid))
		defer c.Run(context.Background(), "kill "+p, nil)
		// Writing into a running executable fails with ETXTBSY; only a
		// rename over it works.
		sent, err := c.Upload(ctx, "/bin/true", bin, 0o755, nil)
		if err != nil || !sent {
			t.Fatalf("Upload over the running binary: got sent=%v, %v; want sent", sent, err)
		}
		out, err := c.Run(ctx, "kill -0 "+p+" && echo alive; readlink /proc/"+p+"/exe; sha256sum < "+bin, nil)
		if err != nil {
			t.Fatalf("after replacement: %v", err)
		}
		want := "alive\n" + bin + " (deleted)\n" + fileSum(t, "/bin/true") + "  -\n"
		if string(out) != want {
			t.Errorf("after replacement: got %q; want %q", out, want)
		}
	})

	t.Run("exec error carries output", func(t *testing.T) {
		_, err := dial(t, "server4", nil).Run(ctx, "echo to-stdout; echo went-wrong >&2; exit 7", nil)
		var ee *provisioner.ExitError
		if !errors.As(err, &ee) || ee.Code != 7 || string(ee.Stderr) != "went-wrong\n" || string(ee.Stdout) != "to-stdout\n" {
			t.Fatalf("Run: got %#v; want ExitError code 7 with both outputs", err)
		}
		if !strings.Contains(err.Error(), "server4") || !strings.Contains(err.Error(), "went-wrong") {
			t.Errorf("error %q: want host and output", err)
		}
	})

	t.Run("non-root user with sudo", func(t *testing.T) {
		if err := l.AddUser(ctx, "server4", "deploy", true); err != nil {
			t.Fatal(err)
		}
		c := dial(t, "server4", func(tg *provisioner.Target) { tg.User = "deploy" })
		out, err := c.Run(ctx, "id -un; echo $SUDO_USER", nil)
		if err != nil || string(out) != "root\ndeploy\n" {
			t.Fatalf("Run as deploy: got %q, %v; want root via sudo from deploy", out, err)
		}
		changed, err := c.WriteFile(ctx, "/etc/stickyform/test.json", []byte("{}\n"), 0o640)
		if err != nil || !changed {
			t.Fatalf("WriteFile as deploy: got %v, %v", changed, err)
		}
		if out, _ := c.Run(ctx, "stat -c '%a %U' /etc/stickyform/test.json", nil); string(out) != "640 root\n" {
			t.Errorf("file written via sudo: got %q; want \"640 root\"", out)
		}
		if _, err := os.Stat("/etc/stickyform/test.json"); err == nil {
			t.Errorf("/etc/stickyform/test.json reached the machine; want it private to the host")
		}
	})

	t.Run("sudo wanting a password", func(t *testing.T) {
		if err := l.AddUser(ctx, "server4", "asker", false); err != nil {
			t.Fatal(err)
		}
		c := dial(t, "server4", func(tg *provisioner.Target) { tg.User = "asker" })
		_, err := c.Run(ctx, "true", nil)
		if !errors.Is(err, provisioner.ErrSudoPassword) || !strings.Contains(err.Error(), "server4") || !strings.Contains(err.Error(), "asker") {
			t.Fatalf("Run: got %v; want ErrSudoPassword naming server4 and asker", err)
		}
	})

	t.Run("changed host key refused", func(t *testing.T) {
		kh, err := os.ReadFile(l.KnownHostsFile)
		if err != nil {
			t.Fatal(err)
		}
		// server3's address with server2's key: what an impostor looks like.
		lines := strings.Split(strings.TrimSpace(string(kh)), "\n")
		forged := "172.25.1.3 " + strings.SplitN(lines[0], " ", 2)[1]
		path := filepath.Join(t.TempDir(), "known_hosts")
		os.WriteFile(path, []byte(forged+"\n"), 0o600)
		h, _ := l.Host("server3")
		tg := l.Target(h)
		tg.KnownHosts = path
		_, err = provisioner.Dial(ctx, tg, provisioner.Options{})
		var changed *provisioner.HostKeyChangedError
		if !errors.As(err, &changed) || !strings.Contains(err.Error(), "CHANGED") {
			t.Fatalf("Dial: got %v; want *HostKeyChangedError", err)
		}
	})

	t.Run("network cut fails a blocked call within seconds", func(t *testing.T) {
		c := dial(t, "server3", nil)
		done := make(chan error, 1)
		go func() { _, err := c.Run(ctx, "sleep 60", nil); done <- err }()
		time.Sleep(200 * time.Millisecond)
		if err := l.CutHost("server3"); err != nil {
			t.Fatal(err)
		}
		defer l.RestoreHost("server3")
		select {
		case err := <-done:
			if err == nil || !strings.Contains(err.Error(), "keepalive") {
				t.Fatalf("Run: got %v; want connection lost (keepalive)", err)
			}
		case <-time.After(30 * time.Second):
			t.Fatal("Run still blocked 30s after the network was cut")
		}
	})

	t.Run("timings", func(t *testing.T) {
		// Not asserted (shared machine); logged for the record.
		h, _ := l.Host("server2")
		var dials, execs []time.Duration
		for i := 0; i < 15; i++ {
			start := time.Now()
			c, err := provisioner.Dial(ctx, l.Target(h), provisioner.Options{})
			if err != nil {
				t.Fatal(err)
			}
			dials = append(dials, time.Since(start))
			if _, err := c.Run(ctx, "true", nil); err != nil {
				t.Fatal(err)
			}
			execs = append(execs, time.Since(start))
			c.Close()
		}
		t.Logf("median of 15: dial %v, dial+exec %v", median(dials), median(execs))
	})
}

func median(d []time.Duration) time.Duration {
	sort.Slice(d, func(i, j int) bool { return d[i] < d[j] })
	return d[len(d)/2]
}

func fileSum(t *testing.T, path string) string {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	s := sha256.Sum256(b)
	return hex.EncodeToString(s[:])
}
