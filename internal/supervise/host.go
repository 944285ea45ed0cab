package supervise

import (
	"context"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"time"
)

// Host controls the roles deployed on this machine: each role is a config
// file <ConfigDir>/<kind>-<name>.json run as `stickyform agent KIND -config
// FILE`, under systemd when it is booted, else under Run (detached).
type Host struct {
	// Binary is the stickyform executable the roles run. If empty,
	// DefaultBinary.
	Binary string
	// ConfigDir, RunDir, LogDir, UnitDir and StateDir default to the
	// remote layout.
	ConfigDir, RunDir, LogDir, UnitDir, StateDir string
	// Systemd selects systemd units instead of the supervisor.
	Systemd bool
}

// DetectHost returns a Host with the default layout, using systemd when
// it is booted (/run/systemd/system exists, as sd_booted(3) checks).
func DetectHost() Host {
	_, err := os.Stat("/run/systemd/system")
	return Host{Systemd: err == nil}.withDefaults()
}

func (h Host) withDefaults() Host {
	if h.Binary == "" {
		h.Binary = DefaultBinary
	}
	if h.ConfigDir == "" {
		h.ConfigDir = DefaultConfigDir
	}
	if h.RunDir == "" {
		h.RunDir = DefaultRunDir
	}
	if h.LogDir == "" {
		h.LogDir = DefaultLogDir
	}
	if h.UnitDir == "" {
		h.UnitDir = DefaultUnitDir
	}
	if h.StateDir == "" {
		h.StateDir = DefaultStateDir
	}
	return h
}

// ConfigFile is the role's config path.
func (h Host) ConfigFile(name string) string {
	return filepath.Join(h.withDefaults().ConfigDir, name+".json")
}

// UnitName is the systemd unit of a role.
func UnitName(name string) string { return "stickyform-" + name + ".service" }

// Kind returns the role kind of a "<kind>-<name>" role name.
func Kind(name string) (string, error) {
	kind, rest, ok := strings.Cut(name, "-")
	if !ok || rest == "" || (kind != "cache" && kind != "app" && kind != "proxy") {
		return "", fmt.Errorf("bad role name %q: want cache-NAME, app-NAME or proxy-NAME", name)
	}
	return kind, nil
}

// agentArgs is the argv of the agent of a role.
func (h Host) agentArgs(name string) ([]string, error) {
	kind, err := Kind(name)
	if err != nil {
		return nil, err
	}
	return []string{h.Binary, "agent", kind, "-config", h.ConfigFile(name)}, nil
}

// Start starts the role if it is not running. It does not wait for health.
func (h Host) Start(ctx context.Context, name string) error {
	h = h.withDefaults()
	if _, err := os.Stat(h.ConfigFile(name)); err != nil {
		return fmt.Errorf("start %s: %w", name, err)
	}
	if h.Systemd {
		return h.systemdStart(ctx, name)
	}
	if h.supervisorRunning(name) {
		return nil
	}
	return h.detach(ctx, name)
}

// detach starts `stickyform agent supervise` in a new session, so it
// outlives the SSH connection that started it, and waits until it holds
// its pid file.
func (h Host) detach(ctx context.Context, name string) error {
	args, err := h.agentArgs(name)
	if err != nil {
		return err
	}
	sup := []string{"agent", "supervise", "-name", name, "-run-dir", h.RunDir, "-log-dir", h.LogDir, "--"}
	sup = append(sup, args...)
	for _, d := range []string{h.RunDir, h.LogDir} {
		if err := os.MkdirAll(d, 0o755); err != nil {
			return fmt.Errorf("start %s: %w", name, err)
		}
	}
	cmd := exec.Command(h.Binary, sup...)
	cmd.SysProcAttr = &syscall.SysProcAttr{Setsid: true}
	cmd.Dir = "/"
	if err := cmd.Start(); err != nil {
		return fmt.Errorf("start %s: %w", name, err)
	}
	exited := make(chan error, 1)
	go func() { exited <- cmd.Wait() }()
	for {
		if h.supervisorRunning(name) {
			return nil
		}
		select {
		case err := <-exited:
			if h.supervisorRunning(name) {
				return nil
			}
			return fmt.Errorf("start %s: supervisor exited: %v; see %s", name, err, LogFile(h.LogDir, name))
		case <-ctx.Done():
			return fmt.Errorf("start %s: %w", name, ctx.Err())
		case <-time.After(20 * time.Millisecond):
		}
	}
}

// Stop stops the role and waits until it is gone. A stopped role stays
// stopped: the supervisor itself ends (or systemd is told to stop).
func (h Host) Stop(ctx context.Context, name string) error {
	h = h.withDefaults()
	if h.Systemd {
		return h.systemctl(ctx, "stop", UnitName(name))
	}
	if pid := readPid(PidFile(h.RunDir, name)); pid > 0 && h.supervisorRunning(name) {
		syscall.Kill(pid, syscall.SIGTERM)
		if !waitFor(ctx, stopGrace+5*time.Second, func() bool { return !h.supervisorRunning(name) }) {
			syscall.Kill(pid, syscall.SIGKILL)
		}
	}
	h.stopOrphan(ctx, name)
	return ctx.Err()
}

// stopOrphan ends an agent whose supervisor was killed: it keeps running
// (and holding its port). Its command line is checked so a reused pid of
// another program is left alone.
func (h Host) stopOrphan(ctx context.Context, name string) {
	agentPid := AgentPidFile(h.RunDir, name)
	if pid := readPid(agentPid); pid > 0 && h.isOurAgent(pid, name) {
		syscall.Kill(pid, syscall.SIGTERM)
		if !waitFor(ctx, stopGrace, func() bool { return !alive(pid) }) {
			syscall.Kill(pid, syscall.SIGKILL)
		}
	}
	os.Remove(agentPid)
}

// Restart stops and starts the role (a new binary takes effect).
func (h Host) Restart(ctx context.Context, name string) error {
	h = h.withDefaults()
	if h.Systemd {
		if err := h.installUnit(ctx, name); err != nil {
			return err
		}
		return h.systemctl(ctx, "restart", UnitName(name))
	}
	if err := h.Stop(ctx, name); err != nil {
		return err
	}
	return h.Start(ctx, name)
}

// Reload sends SIGHUP to the role's agent (the proxy re-reads its config).
func (h Host) Reload(ctx context.Context, name string) error {
	h = h.withDefaults()
	if h.Systemd {
		return h.systemctl(ctx, "reload", UnitName(name))
	}
	pid := readPid(PidFile(h.RunDir, name))
	if pid <= 0 || !h.supervisorRunning(name) {
		return fmt.Errorf("reload %s: not running", name)
	}
	if err := syscall.Kill(pid, syscall.SIGHUP); err != nil {
		return fmt.Errorf("reload %s: %w", name, err)
	}
	return nil
}

// Remove stops the role and deletes its unit, config, pid and log files.
func (h Host) Remove(ctx context.Context, name string) error {
	h = h.withDefaults()
	if _, err := Kind(name); err != nil {
		return err
	}
	if h.Systemd {
		if err := h.systemdRemove(ctx, name); err != nil {
			return err
		}
	} else if err := h.Stop(ctx, name); err != nil {
		return err
	}
	paths := []string{h.ConfigFile(name), PidFile(h.RunDir, name), AgentPidFile(h.RunDir, name)}
	logs, _ := filepath.Glob(filepath.Join(h.LogDir, name+".*"))
	for _, p := range append(paths, logs...) {
		if err := os.Remove(p); err != nil && !errors.Is(err, os.ErrNotExist) {
			return fmt.Errorf("remove %s: %w", name, err)
		}
	}
	return nil
}

// supervisorRunning reports whether a supervisor holds the role's pid file.
func (h Host) supervisorRunning(name string) bool {
	f, err := os.Open(PidFile(h.RunDir, name))
	if err != nil {
		return false
	}
	defer f.Close()
	if err := syscall.Flock(int(f.Fd()), syscall.LOCK_SH|syscall.LOCK_NB); err != nil {
		return true
	}
	syscall.Flock(int(f.Fd()), syscall.LOCK_UN)
	return false
}

// isOurAgent reports whether pid runs the agent of role name.
func (h Host) isOurAgent(pid int, name string) bool {
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/cmdline", pid))
	return err == nil && strings.Contains(string(b), h.ConfigFile(name))
}

func readPid(path string) int {
	b, err := os.ReadFile(path)
	if err != nil {
		return 0
	}
	pid, err := strconv.Atoi(strings.TrimSpace(string(b)))
	if err != nil {
		return 0
	}
	return pid
}

func alive(pid int) bool {
	if syscall.Kill(pid, 0) != nil {
		return false
	}
	// A zombie still answers kill -0; it is not alive for us.
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
	if err != nil {
		return false
	}
	_, rest, _ := strings.Cut(string(b), ") ")
	return !strings.HasPrefix(rest, "Z")
}

// waitFor polls cond until it holds or timeout passes; it reports cond.
func waitFor(ctx context.Context, timeout time.Duration, cond func() bool) bool {
	deadline := time.Now().Add(timeout)
	for !cond() {
		if time.Now().After(deadline) || ctx.Err() != nil {
			return false
		}
		time.Sleep(20 * time.Millisecond)
	}
	return true
}
