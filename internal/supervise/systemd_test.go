package supervise

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// fakeSystemctl puts a systemctl on PATH that logs its arguments and
// answers `show` as systemd does for an active unit.
func fakeSystemctl(t *testing.T) (logPath string) {
	t.Helper()
	dir := t.TempDir()
	logPath = filepath.Join(dir, "calls")
	script := `#!/bin/sh
echo "$*" >> ` + logPath + `
if [ "$1" = show ]; then printf 'ActiveState=active\nMainPID=4242\n'; fi
`
	if err := os.WriteFile(filepath.Join(dir, "systemctl"), []byte(script), 0o755); err != nil {
		t.Fatal(err)
	}
	t.Setenv("PATH", dir+string(os.PathListSeparator)+os.Getenv("PATH"))
	return logPath
}

func TestSystemdLifecycle(t *testing.T) {
	calls := fakeSystemctl(t)
	h, name, _ := testHost(t)
	h.Systemd = true
	ctx := context.Background()
	unit := filepath.Join(h.UnitDir, UnitName(name))
	os.MkdirAll(h.UnitDir, 0o755)

	steps := []struct {
		name string
		do   func() error
		want string // the systemctl calls, in order
	}{
		{"start installs and enables", func() error { return h.Start(ctx, name) },
			"daemon-reload\nenable --now stickyform-app-web.service\n"},
		{"start again only enables", func() error { return h.Start(ctx, name) },
			"enable --now stickyform-app-web.service\n"},
		{"restart", func() error { return h.Restart(ctx, name) }, "restart stickyform-app-web.service\n"},
		{"reload", func() error { return h.Reload(ctx, name) }, "reload stickyform-app-web.service\n"},
		{"stop", func() error { return h.Stop(ctx, name) }, "stop stickyform-app-web.service\n"},
		{"remove disables and deletes the unit", func() error { return h.Remove(ctx, name) },
			"disable --now stickyform-app-web.service\ndaemon-reload\n"},
	}
	for _, s := range steps {
		t.Run(s.name, func(t *testing.T) {
			os.Remove(calls)
			if err := s.do(); err != nil {
				t.Fatal(err)
			}
			got, _ := os.ReadFile(calls)
			if string(got) != s.want {
				t.Errorf("systemctl calls: got %q; want %q", got, s.want)
			}
		})
		if s.name == "start installs and enables" {
			if b, err := os.ReadFile(unit); err != nil || !strings.Contains(string(b), "agent app -config "+h.ConfigFile(name)) {
				t.Fatalf("unit file: %v\n%s", err, b)
			}
			st := roleOf(t, h.Status(ctx), name)
			if !st.Running || st.PID != 4242 || st.Manager != "systemd" {
				t.Errorf("status under systemd: got %+v; want running, pid 4242 from systemctl show", st)
			}
		}
	}
	if _, err := os.Stat(unit); !os.IsNotExist(err) {
		t.Errorf("unit file after remove: %v; want it gone", err)
	}
	if _, err := os.Stat(h.ConfigFile(name)); !os.IsNotExist(err) {
		t.Errorf("config after remove: %v; want it gone", err)
	}
}
