package cache

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"os"
	"os/exec"
	"os/user"
	"strconv"
	"syscall"
	"time"
)

// Supervision timing: a crashed memcached is restarted after a backoff that
// doubles up to maxBackoff and resets once a run has lasted stableRun.
const (
	minBackoff = 250 * time.Millisecond
	maxBackoff = 30 * time.Second
	stableRun  = 30 * time.Second
	stopGrace  = 5 * time.Second
)

// memcachedArgs are the real memcached's flags equivalent to cfg; -U 0
// turns UDP off, as the builtin engine has none.
func memcachedArgs(cfg Config, runAsRoot bool) ([]string, error) {
	host, port, err := net.SplitHostPort(cfg.Listen)
	if err != nil {
		return nil, fmt.Errorf("memcached args: %w", err)
	}
	if host == "" {
		host = "0.0.0.0"
	}
	args := []string{"-l", host, "-p", port, "-m", strconv.Itoa(cfg.MemoryMB),
		"-I", strconv.Itoa(cfg.MaxItemSize), "-c", strconv.Itoa(cfg.MaxConns), "-U", "0"}
	if runAsRoot {
		// memcached refuses to run as root without -u; drop privileges.
		args = append(args, "-u", unprivilegedUser())
	}
	return args, nil
}

func unprivilegedUser() string {
	for _, name := range []string{"memcache", "memcached", "nobody"} {
		if _, err := user.Lookup(name); err == nil {
			return name
		}
	}
	return "nobody"
}

// superviseMemcached runs the real memcached until ctx ends, restarting it
// with backoff when it exits on its own.
func superviseMemcached(ctx context.Context, cfg Config, log *slog.Logger, stderr io.Writer) error {
	bin, err := ensureMemcached(ctx, log)
	if err != nil {
		return err
	}
	args, err := memcachedArgs(cfg, os.Geteuid() == 0)
	if err != nil {
		return err
	}
	backoff := minBackoff
	for {
		started := time.Now()
		err := runOnce(ctx, bin, args, log, stderr)
		if ctx.Err() != nil {
			log.Info("memcached stopped")
			return nil
		}
		if time.Since(started) >= stableRun {
			backoff = minBackoff
		}
		log.Warn("memcached exited; restarting", "err", err, "backoff", backoff)
		select {
		case <-ctx.Done():
			return nil
		case <-time.After(backoff):
		}
		backoff = min(backoff*2, maxBackoff)
	}
}

// runOnce starts memcached and waits for it to exit or for ctx to end, in
// which case it forwards SIGTERM and, after stopGrace, kills it.
func runOnce(ctx context.Context, bin string, args []string, log *slog.Logger, stderr io.Writer) error {
	cmd := exec.Command(bin, args...)
	cmd.Stdout, cmd.Stderr = stderr, stderr
	if err := cmd.Start(); err != nil {
		return fmt.Errorf("start memcached: %w", err)
	}
	log.Info("memcached started", "pid", cmd.Process.Pid, "args", args)
	done := make(chan error, 1)
	go func() { done <- cmd.Wait() }()
	select {
	case err := <-done:
		return fmt.Errorf("memcached: %w", err)
	case <-ctx.Done():
	}
	cmd.Process.Signal(syscall.SIGTERM)
	select {
	case err := <-done:
		return err
	case <-time.After(stopGrace):
		cmd.Process.Kill()
		return <-done
	}
}

// ensureMemcached finds the memcached binary, installing the distribution's
// package when it is missing.
func ensureMemcached(ctx context.Context, log *slog.Logger) (string, error) {
	if p, err := findMemcached(); err == nil {
		return p, nil
	}
	log.Info("memcached not found; installing the distribution package")
	if err := installMemcached(ctx); err != nil {
		return "", err
	}
	return findMemcached()
}

func findMemcached() (string, error) {
	if p, err := exec.LookPath("memcached"); err == nil {
		return p, nil
	}
	for _, p := range []string{"/usr/bin/memcached", "/usr/local/bin/memcached", "/usr/sbin/memcached"} {
		if st, err := os.Stat(p); err == nil && st.Mode().IsRegular() {
			return p, nil
		}
	}
	return "", errors.New("find memcached: not installed")
}

// installMemcached installs memcached with whichever package manager the
// host has, then stops the distribution's own service (which would hold
// port 11211) because this agent runs memcached itself.
func installMemcached(ctx context.Context) error {
	managers := []struct{ bin, script string }{
		{"apt-get", "apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends memcached"},
		{"dnf", "dnf install -y -q memcached"},
		{"yum", "yum install -y -q memcached"},
		{"apk", "apk add --no-cache memcached"},
	}
	for _, m := range managers {
		if _, err := exec.LookPath(m.bin); err != nil {
			continue
		}
		out, err := exec.CommandContext(ctx, "sh", "-c", m.script).CombinedOutput()
		if err != nil {
			return fmt.Errorf("install memcached with %s: %w; output:\n%s", m.bin, err, out)
		}
		if _, err := exec.LookPath("systemctl"); err == nil {
			exec.CommandContext(ctx, "systemctl", "disable", "--now", "memcached").Run()
		}
		return nil
	}
	return errors.New("install memcached: no apt-get, dnf, yum or apk on this host")
}
