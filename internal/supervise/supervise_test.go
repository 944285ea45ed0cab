package supervise

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"
)

func TestRunRestartsWithCappedBackoff(t *testing.T) {
	dir := t.TempDir()
	opts := Options{
		Name:       "app-crashy",
		Command:    []string{os.Args[0], "agent", "crash"},
		RunDir:     dir,
		LogDir:     dir,
		MinBackoff: 5 * time.Millisecond,
		MaxBackoff: 20 * time.Millisecond,
	}
	logPath := LogFile(dir, opts.Name)
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- Run(ctx, opts) }()
	// Wait until the child crashed five times, counted in the log.
	want := []string{"5ms", "10ms", "20ms", "20ms", "20ms"}
	deadline := time.Now().Add(30 * time.Second)
	var waits []string
	for time.Now().Before(deadline) {
		waits = restartWaits(t, logPath)
		if len(waits) >= len(want) {
			break
		}
		time.Sleep(10 * time.Millisecond)
	}
	cancel()
	if err := <-done; err != nil {
		t.Fatalf("Run: %v", err)
	}
	if len(waits) < len(want) {
		t.Fatalf("got %d restarts; want at least %d", len(waits), len(want))
	}
	for i, w := range want {
		if waits[i] != w {
			t.Errorf("restart %d: got backoff %s; want %s (all: %v)", i, waits[i], w, waits)
		}
	}
	if _, err := os.Stat(PidFile(dir, opts.Name)); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("pid file after Run returned: got %v; want it removed", err)
	}
}

// restartWaits returns the backoffs the supervisor logged, in order.
func restartWaits(t *testing.T, logPath string) []string {
	b, err := os.ReadFile(logPath)
	if err != nil {
		return nil
	}
	var waits []string
	for _, line := range strings.Split(string(b), "\n") {
		if _, after, ok := strings.Cut(line, "restarting in "); ok {
			waits = append(waits, after)
		}
	}
	return waits
}

func TestRunRefusesSecondSupervisor(t *testing.T) {
	dir := t.TempDir()
	f, err := lockPidFile(PidFile(dir, "cache-n1"))
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	err = Run(context.Background(), Options{Name: "cache-n1", Command: []string{"/bin/true"}, RunDir: dir, LogDir: dir})
	if !errors.Is(err, ErrAlreadyRunning) {
		t.Fatalf("second supervisor: got %v; want ErrAlreadyRunning", err)
	}
}

// testHost returns a Host laid out in a temp dir whose binary is this
// test binary (see TestMain), with one app role listening on a free port.
func testHost(t *testing.T) (Host, string, string) {
	dir := t.TempDir()
	h := Host{Binary: os.Args[0], ConfigDir: filepath.Join(dir, "etc"), RunDir: filepath.Join(dir, "run"),
		LogDir: filepath.Join(dir, "log"), UnitDir: filepath.Join(dir, "units"), StateDir: filepath.Join(dir, "lib")}
	if err := os.MkdirAll(h.ConfigDir, 0o755); err != nil {
		t.Fatal(err)
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := ln.Addr().String()
	ln.Close()
	name := "app-web"
	cfg := fmt.Sprintf(`{"listen":%q}`, addr)
	if err := os.WriteFile(h.ConfigFile(name), []byte(cfg), 0o600); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { h.Stop(context.Background(), name) })
	return h, name, addr
}

func TestHostStartKillStopRemove(t *testing.T) {
	h, name, addr := testHost(t)
	ctx := context.Background()
	if err := h.Start(ctx, name); err != nil {
		t.Fatalf("Start: %v", err)
	}
	if err := h.WaitHealthy(ctx, name, 20*time.Second); err != nil {
		t.Fatalf("WaitHealthy: %v", err)
	}
	st := roleOf(t, h.Status(ctx), name)
	if !st.Running || !st.Healthy || st.PID == 0 || st.ConfigSHA256 == "" {
		t.Fatalf("status after start: got %+v; want running, healthy, a pid and a config hash", st)
	}

	t.Run("killed agent is restarted", func(t *testing.T) {
		if err := syscall.Kill(st.PID, syscall.SIGKILL); err != nil {
			t.Fatal(err)
		}
		var now RoleStatus
		ok := waitFor(ctx, 20*time.Second, func() bool {
			now = roleOf(t, h.Status(ctx), name)
			return now.Healthy && now.PID != 0 && now.PID != st.PID
		})
		if !ok {
			t.Fatalf("after SIGKILL of pid %d: got %+v; want a new healthy agent", st.PID, now)
		}
	})

	t.Run("start is idempotent", func(t *testing.T) {
		sup := roleOf(t, h.Status(ctx), name).SupervisorPID
		if err := h.Start(ctx, name); err != nil {
			t.Fatal(err)
		}
		if got := roleOf(t, h.Status(ctx), name).SupervisorPID; got != sup {
			t.Errorf("supervisor pid after second Start: got %d; want %d", got, sup)
		}
	})

	t.Run("stop stays stopped", func(t *testing.T) {
		if err := h.Stop(ctx, name); err != nil {
			t.Fatal(err)
		}
		if st := roleOf(t, h.Status(ctx), name); st.Running || st.Healthy {
			t.Fatalf("status after stop: got %+v; want not running", st)
		}
		if c, err := net.Dial("tcp", addr); err == nil {
			c.Close()
			t.Fatalf("port %s still answers after stop", addr)
		}
	})

	t.Run("remove deletes files", func(t *testing.T) {
		if err := h.Remove(ctx, name); err != nil {
			t.Fatal(err)
		}
		for _, d := range []string{h.ConfigDir, h.RunDir, h.LogDir} {
			entries, _ := os.ReadDir(d)
			if len(entries) != 0 {
				t.Errorf("%s after remove: got %d entries (%v); want none", d, len(entries), entries[0].Name())
			}
		}
	})
}

func roleOf(t *testing.T, st Status, name string) RoleStatus {
	t.Helper()
	for _, r := range st.Roles {
		if r.Name == name {
			return r
		}
	}
	return RoleStatus{Name: name}
}

func TestPurge(t *testing.T) {
	h, name, _ := testHost(t)
	h.Binary = filepath.Join(filepath.Dir(h.ConfigDir), "opt", "bin", "stickyform")
	os.MkdirAll(filepath.Dir(h.Binary), 0o755)
	os.WriteFile(h.Binary, []byte("bin"), 0o755)
	if err := h.Purge(); !errors.Is(err, ErrRolesLeft) {
		t.Fatalf("purge with a role configured: got %v; want ErrRolesLeft", err)
	}
	if _, err := os.Stat(h.Binary); err != nil {
		t.Fatalf("purge with a role configured removed the binary: %v", err)
	}
	if err := h.Remove(context.Background(), name); err != nil {
		t.Fatal(err)
	}
	if err := h.Purge(); err != nil {
		t.Fatalf("purge: %v", err)
	}
	for _, p := range []string{h.ConfigDir, h.RunDir, h.LogDir, filepath.Dir(filepath.Dir(h.Binary))} {
		if _, err := os.Stat(p); !errors.Is(err, os.ErrNotExist) {
			t.Errorf("%s after purge: got %v; want it gone", p, err)
		}
	}
}

func TestReloadForwardsSIGHUP(t *testing.T) {
	h, name, _ := testHost(t)
	ctx := context.Background()
	if err := h.Start(ctx, name); err != nil {
		t.Fatal(err)
	}
	if err := h.WaitHealthy(ctx, name, 20*time.Second); err != nil {
		t.Fatal(err)
	}
	pid := roleOf(t, h.Status(ctx), name).PID
	if err := h.Reload(ctx, name); err != nil {
		t.Fatal(err)
	}
	marker := h.ConfigFile(name) + ".hup"
	if !waitFor(ctx, 20*time.Second, func() bool { _, err := os.Stat(marker); return err == nil }) {
		t.Fatalf("agent did not see SIGHUP (no %s)", marker)
	}
	if got := roleOf(t, h.Status(ctx), name).PID; got != pid {
		t.Errorf("pid after reload: got %d; want %d (no restart)", got, pid)
	}
}

func TestUnitFile(t *testing.T) {
	h := Host{}.withDefaults()
	b, err := h.unitFile("proxy-lb")
	if err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{
		"ExecStart=/opt/stickyform/bin/stickyform agent proxy -config /etc/stickyform/proxy-lb.json\n",
		"ExecReload=/bin/kill -HUP $MAINPID\n", "Restart=always\n", "WantedBy=multi-user.target\n",
		"StandardOutput=append:/var/log/stickyform/proxy-lb.log\n",
	} {
		if !strings.Contains(string(b), want) {
			t.Errorf("unit file:\n%s\nwant line %q", b, want)
		}
	}
	if UnitName("proxy-lb") != "stickyform-proxy-lb.service" {
		t.Errorf("UnitName: got %q", UnitName("proxy-lb"))
	}
	if _, err := h.unitFile("bogus"); err == nil {
		t.Error("unit file for a bad role name: got no error")
	}
}

func TestBinaryHashFollowsReplacement(t *testing.T) {
	dir := t.TempDir()
	h := Host{Binary: filepath.Join(dir, "stickyform"), StateDir: filepath.Join(dir, "lib")}.withDefaults()
	write := func(content string) string {
		if err := writeFileAtomic(h.Binary, []byte(content)); err != nil {
			t.Fatal(err)
		}
		sum, _ := FileSHA256(h.Binary)
		return sum
	}
	for i, content := range []string{"v1", "v2", "v2 but longer"} {
		want := write(content)
		for range 2 { // the second answer comes from the cache
			got, err := h.binarySHA256()
			if err != nil || got != want {
				t.Fatalf("binary %d: got %q, %v; want %q", i, got, err, want)
			}
		}
	}
	// Rewritten in place (same inode, same size): the cache must not answer.
	if err := os.WriteFile(h.Binary, []byte("v3 but longer"), 0o755); err != nil {
		t.Fatal(err)
	}
	want, _ := FileSHA256(h.Binary)
	if got, _ := h.binarySHA256(); got != want {
		t.Errorf("after an in-place write: got %q; want %q", got, want)
	}
}

func TestWaitBackendUp(t *testing.T) {
	backends := `{"backends":[{"url":"http://10.0.0.1:8080","up":false},{"url":"http://10.0.0.2:8080","up":true}]}`
	admin := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path != "/status" {
			http.NotFound(w, r)
			return
		}
		io.WriteString(w, backends)
	}))
	defer admin.Close()
	dir := t.TempDir()
	h := Host{ConfigDir: dir}
	cfg := fmt.Sprintf(`{"listen":"127.0.0.1:1","admin_listen":%q}`, strings.TrimPrefix(admin.URL, "http://"))
	os.WriteFile(h.ConfigFile("proxy-lb"), []byte(cfg), 0o600)
	ctx := context.Background()
	tests := []struct {
		url     string
		wantErr string
	}{
		{"http://10.0.0.2:8080", ""},
		{"http://10.0.0.2:8080/", ""},
		{"http://10.0.0.1:8080", "still reported down"},
		{"http://10.0.0.9:8080", ""}, // not routed to: nothing to wait for
	}
	t.Run("admin not answering", func(t *testing.T) {
		gone := Host{ConfigDir: t.TempDir()}
		os.WriteFile(gone.ConfigFile("proxy-lb"), []byte(`{"admin_listen":"127.0.0.1:1"}`), 0o600)
		if err := gone.WaitBackendUp(ctx, "proxy-lb", "http://10.0.0.2:8080", time.Minute); err == nil {
			t.Error("got no error; want one at once")
		}
	})
	for _, tt := range tests {
		t.Run(tt.url, func(t *testing.T) {
			err := h.WaitBackendUp(ctx, "proxy-lb", tt.url, 300*time.Millisecond)
			if tt.wantErr == "" && err != nil || tt.wantErr != "" && (err == nil || !strings.Contains(err.Error(), tt.wantErr)) {
				t.Errorf("got %v; want error containing %q", err, tt.wantErr)
			}
		})
	}
}

// TestInlineBecomesSupervisor: `ctl start -inline` supervises the role in
// its own process, answers "ok" once the role is healthy, and a second
// inline start finds it running and only answers.
func TestInlineBecomesSupervisor(t *testing.T) {
	h, name, _ := testHost(t)
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	done := startInline(ctx, t, h, name)
	st := roleOf(t, h.Status(ctx), name)
	if !st.Running || !st.Healthy || st.SupervisorPID != os.Getpid() {
		t.Fatalf("status: got %+v; want running and healthy, supervised by this process (%d)", st, os.Getpid())
	}
	var again bytes.Buffer
	if err := h.Inline(ctx, "start", name, 20*time.Second, &again, nil); err != nil || again.String() != InlineOK+"\n" {
		t.Fatalf("second inline start: got %v, %q; want nil, %q", err, again.String(), InlineOK+"\n")
	}
	cancel()
	if err := <-done; err != nil {
		t.Fatalf("Inline after cancel: %v", err)
	}
	if st := roleOf(t, h.Status(context.Background()), name); st.Running {
		t.Fatalf("status after the inline supervisor ended: got %+v; want not running", st)
	}
}

// startInline runs `ctl start -inline` for name in the background, as the
// engine does, and returns once it has answered InlineOK and released its
// output; the channel gets Inline's result when it ends.
func startInline(ctx context.Context, t *testing.T, h Host, name string) <-chan error {
	t.Helper()
	out := &syncBuffer{}
	released := make(chan struct{})
	done := make(chan error, 1)
	go func() {
		done <- h.Inline(ctx, "start", name, 20*time.Second, out, func(*os.File) { close(released) })
	}()
	select {
	case <-released:
	case err := <-done:
		t.Fatalf("Inline returned before it answered: %v (output %q)", err, out.String())
	}
	if got := out.String(); got != InlineOK+"\n" {
		t.Fatalf("answer: got %q; want %q", got, InlineOK+"\n")
	}
	return done
}

type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (b *syncBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.b.Write(p)
}

func (b *syncBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.b.String()
}

// TestInlineEndsOrphanAgent: an agent whose supervisor was killed keeps
// its port; an inline start ends it and supervises a new one.
func TestInlineEndsOrphanAgent(t *testing.T) {
	h, name, _ := testHost(t)
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	if err := h.Start(ctx, name); err != nil {
		t.Fatal(err)
	}
	if err := h.WaitHealthy(ctx, name, 20*time.Second); err != nil {
		t.Fatal(err)
	}
	old := roleOf(t, h.Status(ctx), name)
	if err := syscall.Kill(old.SupervisorPID, syscall.SIGKILL); err != nil {
		t.Fatal(err)
	}
	if !waitFor(ctx, 10*time.Second, func() bool { return !h.supervisorRunning(name) }) {
		t.Fatal("supervisor still holds its pid file after SIGKILL")
	}
	done := startInline(ctx, t, h, name)
	now := roleOf(t, h.Status(ctx), name)
	if !now.Healthy || now.PID == old.PID || alive(old.PID) {
		t.Fatalf("after inline start: got %+v (orphan pid %d alive: %v); want a new healthy agent and the orphan gone", now, old.PID, alive(old.PID))
	}
	cancel()
	<-done
}
