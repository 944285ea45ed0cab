package supervise

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"io"
	"os"
	"path/filepath"
	"runtime"
	"sort"
	"strings"
	"sync"
	"time"

	"github.com/stickyform/stickyform/internal/version"
)

// Status is what runs on a host: the answer to the engine's refresh, one
// JSON document per host (`stickyform agent status`).
type Status struct {
	Version      string       `json:"version"`
	BinarySHA256 string       `json:"binary_sha256"`
	Arch         string       `json:"arch"`
	Systemd      bool         `json:"systemd"`
	Roles        []RoleStatus `json:"roles"`
}

// RoleStatus is one role on the host.
type RoleStatus struct {
	Name          string `json:"name"` // "<kind>-<name>"
	ConfigSHA256  string `json:"config_sha256"`
	Running       bool   `json:"running"`
	Healthy       bool   `json:"healthy"`
	PID           int    `json:"pid"`
	SupervisorPID int    `json:"supervisor_pid,omitempty"`
	Manager       string `json:"manager"` // "systemd" or "supervise"
}

// Status reports every role that has a config file or a pid file.
func (h Host) Status(ctx context.Context) Status {
	h = h.withDefaults()
	st := Status{Version: version.Version, Arch: runtime.GOARCH, Systemd: h.Systemd}
	st.BinarySHA256, _ = h.binarySHA256()
	names := h.roleNames()
	st.Roles = make([]RoleStatus, len(names))
	var wg sync.WaitGroup
	for i, name := range names {
		wg.Add(1)
		go func() {
			defer wg.Done()
			st.Roles[i] = h.roleStatus(ctx, name)
		}()
	}
	wg.Wait()
	return st
}

// roleNames lists the roles known from config files and pid files.
func (h Host) roleNames() []string {
	seen := map[string]bool{}
	configs, _ := filepath.Glob(filepath.Join(h.ConfigDir, "*.json"))
	pids, _ := filepath.Glob(filepath.Join(h.RunDir, "*.pid"))
	for _, p := range configs {
		seen[strings.TrimSuffix(filepath.Base(p), ".json")] = true
	}
	for _, p := range pids {
		name := strings.TrimSuffix(strings.TrimSuffix(filepath.Base(p), ".pid"), ".agent")
		seen[name] = true
	}
	var names []string
	for n := range seen {
		if _, err := Kind(n); err == nil {
			names = append(names, n)
		}
	}
	sort.Strings(names)
	return names
}

func (h Host) roleStatus(ctx context.Context, name string) RoleStatus {
	rs := RoleStatus{Name: name, Manager: "supervise"}
	rs.ConfigSHA256, _ = FileSHA256(h.ConfigFile(name))
	if h.Systemd {
		rs.Manager = "systemd"
		rs.Running, rs.PID = h.systemdActive(ctx, name)
	} else {
		rs.Running = h.supervisorRunning(name)
		if rs.Running {
			rs.SupervisorPID = readPid(PidFile(h.RunDir, name))
			if pid := readPid(AgentPidFile(h.RunDir, name)); pid > 0 && alive(pid) {
				rs.PID = pid
			}
		}
	}
	if rs.Running && rs.ConfigSHA256 != "" {
		pctx, cancel := context.WithTimeout(ctx, time.Second)
		rs.Healthy = Probe(pctx, name, h.ConfigFile(name)) == nil
		cancel()
	}
	return rs
}

// WaitHealthy waits until the role is running and answers its health
// probe, or timeout passes; the error then says what the probe saw.
func (h Host) WaitHealthy(ctx context.Context, name string, timeout time.Duration) error {
	h = h.withDefaults()
	ctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	var err error
	// An agent answers some 10-30 ms after its start: probes come often at
	// first (a refused connection costs next to nothing), then every
	// healthPollMax, so a fresh start is not billed a whole poll period.
	poll := healthPollMin
	for {
		pctx, pcancel := context.WithTimeout(ctx, time.Second)
		err = Probe(pctx, name, h.ConfigFile(name))
		pcancel()
		if err == nil {
			return nil
		}
		select {
		case <-ctx.Done():
			return &unhealthyError{name: name, err: err, log: tail(LogFile(h.LogDir, name), 2048)}
		case <-time.After(poll):
		}
		poll = min(2*poll, healthPollMax)
	}
}

// Bounds of the interval between health probes in WaitHealthy.
const (
	healthPollMin = 5 * time.Millisecond
	healthPollMax = 50 * time.Millisecond
)

type unhealthyError struct {
	name, log string
	err       error
}

func (e *unhealthyError) Error() string {
	s := "wait for " + e.name + " to be healthy: " + e.err.Error()
	if e.log != "" {
		s += "; last log lines:\n" + e.log
	}
	return s
}

func (e *unhealthyError) Unwrap() error { return e.err }

// FileSHA256 returns the hex sha256 of a file's content.
func FileSHA256(path string) (string, error) {
	f, err := os.Open(path)
	if err != nil {
		return "", err
	}
	defer f.Close()
	sum := sha256.New()
	if _, err := io.Copy(sum, f); err != nil {
		return "", err
	}
	return hex.EncodeToString(sum.Sum(nil)), nil
}

// tail returns up to the last n bytes of a file.
func tail(path string, n int64) string {
	f, err := os.Open(path)
	if err != nil {
		return ""
	}
	defer f.Close()
	if fi, err := f.Stat(); err == nil && fi.Size() > n {
		f.Seek(fi.Size()-n, io.SeekStart)
	}
	b, _ := io.ReadAll(f)
	return string(b)
}
