package provisioner

import (
	"bytes"
	"context"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// connect starts a test server for user and returns a client to it.
func connect(t *testing.T, user string, o Options) (*Client, *testServer) {
	t.Helper()
	identity, client := newIdentity(t)
	hostKey := newKey(t)
	srv := startServer(t, user, client.PublicKey(), hostKey)
	kh := writeKnownHosts(t, srv.knownHostsLine(hostKey.PublicKey()))
	c, err := dialT(t, srv.target(identity, kh), o)
	if err != nil {
		t.Fatalf("Dial: %v", err)
	}
	return c, srv
}

func TestRun(t *testing.T) {
	c, _ := connect(t, "root", Options{})
	tests := []struct {
		name       string
		cmd        string
		stdin      string
		wantOut    string
		wantCode   int // 0: success
		wantStderr string
	}{
		{name: "stdout", cmd: "echo one; echo two", wantOut: "one\ntwo\n"},
		{name: "stdin", cmd: "tr a-z A-Z", stdin: "shout", wantOut: "SHOUT"},
		{name: "quotes survive", cmd: `printf '%s|' "it's" 'a "b"'`, wantOut: `it's|a "b"|`},
		{name: "exit status with output", cmd: "echo partial; echo broken >&2; exit 3", wantOut: "partial\n", wantCode: 3, wantStderr: "broken\n"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var stdin *strings.Reader
			if tt.stdin != "" {
				stdin = strings.NewReader(tt.stdin)
			}
			var out []byte
			var err error
			if stdin != nil {
				out, err = c.Run(context.Background(), tt.cmd, stdin)
			} else {
				out, err = c.Run(context.Background(), tt.cmd, nil)
			}
			if string(out) != tt.wantOut {
				t.Errorf("stdout: got %q; want %q", out, tt.wantOut)
			}
			if tt.wantCode == 0 {
				if err != nil {
					t.Fatalf("Run: got %v; want success", err)
				}
				return
			}
			var ee *ExitError
			if !errors.As(err, &ee) {
				t.Fatalf("Run: got %v; want *ExitError", err)
			}
			if ee.Code != tt.wantCode || string(ee.Stderr) != tt.wantStderr {
				t.Errorf("ExitError: got code %d stderr %q; want %d %q", ee.Code, ee.Stderr, tt.wantCode, tt.wantStderr)
			}
			for _, want := range []string{"testhost", "exit 3", tt.wantStderr} {
				if !strings.Contains(err.Error(), want) {
					t.Errorf("error %q: missing %q", err, want)
				}
			}
		})
	}
}

func TestRunConcurrentSessions(t *testing.T) {
	// More sessions at once than maxSessions: the extra ones wait for a
	// slot instead of failing.
	c, _ := connect(t, "root", Options{})
	errs := make(chan error, 3*maxSessions)
	for i := 0; i < 3*maxSessions; i++ {
		go func() {
			out, err := c.Run(context.Background(), "sleep 0.05; echo ok", nil)
			if err == nil && string(out) != "ok\n" {
				err = errors.New("got " + string(out))
			}
			errs <- err
		}()
	}
	for i := 0; i < 3*maxSessions; i++ {
		if err := <-errs; err != nil {
			t.Fatalf("Run: %v", err)
		}
	}
}

func TestRunSudo(t *testing.T) {
	tests := []struct {
		name         string
		user         string
		needPassword bool
		wantPrefix   string
		wantErr      error
	}{
		{name: "root runs directly", user: "root", wantPrefix: "sh -c "},
		{name: "non-root uses sudo", user: "deploy", wantPrefix: "sudo -n sh -c "},
		{name: "sudo wants a password", user: "deploy", needPassword: true, wantPrefix: "sudo -n sh -c ", wantErr: ErrSudoPassword},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c, srv := connect(t, tt.user, Options{})
			srv.sudoNeedsPassword.Store(tt.needPassword)
			out, err := c.Run(context.Background(), "echo as-root", nil)
			if got := srv.received(); len(got) != 1 || !strings.HasPrefix(got[0], tt.wantPrefix) {
				t.Errorf("command sent: got %q; want prefix %q", got, tt.wantPrefix)
			}
			if tt.wantErr == nil {
				if err != nil || string(out) != "as-root\n" {
					t.Fatalf("Run: got %q, %v; want \"as-root\\n\"", out, err)
				}
				return
			}
			if !errors.Is(err, tt.wantErr) {
				t.Fatalf("Run: got %v; want %v", err, tt.wantErr)
			}
			for _, want := range []string{"testhost", "deploy", "NOPASSWD"} {
				if !strings.Contains(err.Error(), want) {
					t.Errorf("error %q: missing %q", err, want)
				}
			}
		})
	}
}

func TestRunHungConnection(t *testing.T) {
	// The server stops answering mid-command (FREEZE). Keepalives go
	// unanswered, the client closes the connection and Run fails instead
	// of hanging; so does the next call.
	c, _ := connect(t, "root", Options{KeepAliveInterval: 100 * time.Millisecond})
	done := make(chan error, 1)
	go func() {
		_, err := c.Run(context.Background(), "FREEZE; sleep 600", nil)
		done <- err
	}()
	select {
	case err := <-done:
		if err == nil || !strings.Contains(err.Error(), "keepalive") {
			t.Fatalf("Run: got %v; want connection lost (keepalive)", err)
		}
	case <-time.After(30 * time.Second):
		t.Fatal("Run still blocked 30s after the server stopped answering")
	}
	if _, err := c.Run(context.Background(), "true", nil); err == nil || !strings.Contains(err.Error(), "keepalive") {
		t.Fatalf("Run after loss: got %v; want connection lost", err)
	}
}

func TestRunContextCancel(t *testing.T) {
	c, _ := connect(t, "root", Options{})
	ctx, cancel := context.WithCancel(context.Background())
	go func() { time.Sleep(100 * time.Millisecond); cancel() }()
	_, err := c.Run(ctx, "sleep 600", nil)
	if !errors.Is(err, context.Canceled) {
		t.Fatalf("Run: got %v; want context.Canceled", err)
	}
	if out, err := c.Run(context.Background(), "echo still", nil); err != nil || string(out) != "still\n" {
		t.Fatalf("Run after cancel: got %q, %v; want the connection still usable", out, err)
	}
}

func TestUploadAndWriteFile(t *testing.T) {
	if os.Geteuid() != 0 {
		t.Skip("needs root: uploads chown files to root")
	}
	// The test server runs commands on this machine, so remote paths
	// are local temp paths.
	c, srv := connect(t, "root", Options{})
	dir := t.TempDir()
	local := filepath.Join(dir, "local.bin")
	data := bytes.Repeat([]byte("stickyform"), 100_000)
	if err := os.WriteFile(local, data, 0o600); err != nil {
		t.Fatal(err)
	}
	remote := filepath.Join(dir, "new", "sub", "remote.bin")
	ctx := context.Background()

	var last, total int64
	sent, err := c.Upload(ctx, local, remote, 0o750, func(s, tot int64) { last, total = s, tot })
	if err != nil || !sent {
		t.Fatalf("first Upload: got sent=%v, %v; want sent", sent, err)
	}
	if last != int64(len(data)) || total != int64(len(data)) {
		t.Errorf("progress: got %d/%d; want %d/%d", last, total, len(data), len(data))
	}
	assertFile(t, remote, data, 0o750)

	before := len(srv.received())
	sent, err = c.Upload(ctx, local, remote, 0o750, nil)
	if err != nil || sent {
		t.Fatalf("second Upload: got sent=%v, %v; want skipped", sent, err)
	}
	if n := len(srv.received()) - before; n != 1 {
		t.Errorf("second Upload: got %d commands; want 1 (the hash check)", n)
	}

	changed, err := c.WriteFile(ctx, remote, data, 0o644)
	if err != nil || !changed {
		t.Fatalf("WriteFile with new mode: got changed=%v, %v; want changed", changed, err)
	}
	assertFile(t, remote, data, 0o644)

	changed, err = c.WriteFile(ctx, remote, []byte("new content\n"), 0o644)
	if err != nil || !changed {
		t.Fatalf("WriteFile with new content: got changed=%v, %v; want changed", changed, err)
	}
	assertFile(t, remote, []byte("new content\n"), 0o644)
	if leftovers, _ := filepath.Glob(filepath.Join(filepath.Dir(remote), ".*sf-*")); len(leftovers) != 0 {
		t.Errorf("temporary files left: %v", leftovers)
	}

	if _, err := c.WriteFile(ctx, "relative/path", nil, 0o644); err == nil {
		t.Error("WriteFile to a relative path: got success; want an error")
	}
}

func assertFile(t *testing.T, path string, want []byte, mode os.FileMode) {
	t.Helper()
	got, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(got, want) {
		t.Errorf("%s: got %d bytes; want %d bytes of the local file", path, len(got), len(want))
	}
	fi, _ := os.Stat(path)
	if fi.Mode().Perm() != mode {
		t.Errorf("%s mode: got %o; want %o", path, fi.Mode().Perm(), mode)
	}
}
