package supervise

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
)

// unitFile is the systemd unit of a role. Restart=always makes systemd
// the supervisor; ExecReload sends SIGHUP (the proxy re-reads its config).
func (h Host) unitFile(name string) ([]byte, error) {
	args, err := h.agentArgs(name)
	if err != nil {
		return nil, err
	}
	log := LogFile(h.LogDir, name)
	var b bytes.Buffer
	fmt.Fprintf(&b, "# Written by stickyform apply; removed by stickyform destroy.\n")
	fmt.Fprintf(&b, "[Unit]\nDescription=stickyform agent %s\nAfter=network-online.target\nWants=network-online.target\n\n", name)
	fmt.Fprintf(&b, "[Service]\nExecStart=%s\nExecReload=/bin/kill -HUP $MAINPID\n", strings.Join(args, " "))
	fmt.Fprintf(&b, "Restart=always\nRestartSec=1\nTimeoutStopSec=35\n")
	fmt.Fprintf(&b, "StandardOutput=append:%s\nStandardError=append:%s\n\n", log, log)
	fmt.Fprintf(&b, "[Install]\nWantedBy=multi-user.target\n")
	return b.Bytes(), nil
}

// installUnit writes the role's unit when it differs and reloads systemd.
func (h Host) installUnit(ctx context.Context, name string) error {
	data, err := h.unitFile(name)
	if err != nil {
		return err
	}
	path := filepath.Join(h.UnitDir, UnitName(name))
	if old, err := os.ReadFile(path); err == nil && bytes.Equal(old, data) {
		return nil
	}
	if err := os.MkdirAll(h.LogDir, 0o755); err != nil {
		return fmt.Errorf("install unit %s: %w", name, err)
	}
	if err := writeFileAtomic(path, data); err != nil {
		return fmt.Errorf("install unit %s: %w", name, err)
	}
	return h.systemctl(ctx, "daemon-reload")
}

func (h Host) systemdStart(ctx context.Context, name string) error {
	if err := h.installUnit(ctx, name); err != nil {
		return err
	}
	return h.systemctl(ctx, "enable", "--now", UnitName(name))
}

func (h Host) systemdRemove(ctx context.Context, name string) error {
	path := filepath.Join(h.UnitDir, UnitName(name))
	if _, err := os.Stat(path); errors.Is(err, os.ErrNotExist) {
		return nil
	}
	if err := h.systemctl(ctx, "disable", "--now", UnitName(name)); err != nil {
		return err
	}
	if err := os.Remove(path); err != nil {
		return fmt.Errorf("remove unit %s: %w", name, err)
	}
	return h.systemctl(ctx, "daemon-reload")
}

// systemdActive reports whether the role's unit is active, and its pid.
func (h Host) systemdActive(ctx context.Context, name string) (bool, int) {
	out, err := exec.CommandContext(ctx, "systemctl", "show", "-p", "ActiveState", "-p", "MainPID", UnitName(name)).Output()
	if err != nil {
		return false, 0
	}
	var active bool
	var pid int
	for _, line := range strings.Split(string(out), "\n") {
		k, v, _ := strings.Cut(line, "=")
		switch k {
		case "ActiveState":
			active = v == "active" || v == "reloading"
		case "MainPID":
			fmt.Sscan(v, &pid)
		}
	}
	return active, pid
}

func (h Host) systemctl(ctx context.Context, args ...string) error {
	out, err := exec.CommandContext(ctx, "systemctl", args...).CombinedOutput()
	if err != nil {
		return fmt.Errorf("systemctl %s: %w; output:\n%s", strings.Join(args, " "), err, out)
	}
	return nil
}
