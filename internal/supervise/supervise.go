// Package supervise runs and controls stickyform agents on a host. It is
// stickyform's own supervisor for hosts without systemd (restart on crash
// with capped exponential backoff, pid file, log file, signal forwarding),
// and the host side of the engine: starting, stopping, reloading and
// reporting the status of every role, under systemd or the supervisor.
package supervise

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"os/signal"
	"path/filepath"
	"strconv"
	"syscall"
	"time"
)

// Default locations of the remote layout (DESIGN.md).
const (
	DefaultBinary    = "/opt/stickyform/bin/stickyform"
	DefaultConfigDir = "/etc/stickyform"
	DefaultRunDir    = "/run/stickyform"
	DefaultLogDir    = "/var/log/stickyform"
	DefaultStateDir  = "/var/lib/stickyform"
	DefaultUnitDir   = "/etc/systemd/system"
)

// Backoff bounds between restarts of a crashing child.
const (
	DefaultMinBackoff = 200 * time.Millisecond
	DefaultMaxBackoff = 10 * time.Second
	// stableAfter is how long a child must run before its crash is no
	// longer counted as a crash loop (the backoff starts over).
	stableAfter = 10 * time.Second
)

// Options configures one supervisor.
type Options struct {
	// Name is the role's name, "<kind>-<name>" such as "cache-n1". It names
	// the pid files and the log file.
	Name string
	// Command is the child's argv; Command[0] is the program.
	Command []string
	// RunDir holds the pid files. If empty, DefaultRunDir.
	RunDir string
	// LogDir holds the child's log file. If empty, DefaultLogDir.
	LogDir string
	// MinBackoff and MaxBackoff bound the wait between restarts. If zero,
	// DefaultMinBackoff and DefaultMaxBackoff.
	MinBackoff, MaxBackoff time.Duration
	// Stderr receives the supervisor's own messages. If nil, the log file.
	Stderr io.Writer
}

func (o Options) withDefaults() Options {
	if o.RunDir == "" {
		o.RunDir = DefaultRunDir
	}
	if o.LogDir == "" {
		o.LogDir = DefaultLogDir
	}
	if o.MinBackoff == 0 {
		o.MinBackoff = DefaultMinBackoff
	}
	if o.MaxBackoff == 0 {
		o.MaxBackoff = DefaultMaxBackoff
	}
	return o
}

// PidFile is the supervisor's pid file; the supervisor holds an exclusive
// flock on it while it runs, which is how others tell that it is alive.
func PidFile(runDir, name string) string { return filepath.Join(runDir, name+".pid") }

// AgentPidFile holds the pid of the supervised agent process.
func AgentPidFile(runDir, name string) string { return filepath.Join(runDir, name+".agent.pid") }

// LogFile is where the agent's stdout and stderr go.
func LogFile(logDir, name string) string { return filepath.Join(logDir, name+".log") }

// ErrAlreadyRunning means another supervisor holds the role's pid file.
var ErrAlreadyRunning = errors.New("supervise: already running")

// Run supervises opts.Command until ctx ends or a SIGTERM/SIGINT arrives:
// the child is restarted whenever it exits, after a backoff that doubles
// per crash (capped) and starts over once the child ran stableAfter.
// SIGTERM and SIGHUP are forwarded to the child. Run returns after the
// child has exited.
func Run(ctx context.Context, opts Options) error {
	s, err := newSupervisor(opts)
	if err != nil {
		return err
	}
	defer s.close()
	return s.loop(ctx)
}

// newSupervisor takes the role's pid file and opens its log file; the
// caller runs loop, then close.
func newSupervisor(opts Options) (*supervisor, error) {
	opts = opts.withDefaults()
	if opts.Name == "" || len(opts.Command) == 0 {
		return nil, errors.New("supervise: need a name and a command")
	}
	for _, d := range []string{opts.RunDir, opts.LogDir} {
		if err := os.MkdirAll(d, 0o755); err != nil {
			return nil, fmt.Errorf("supervise %s: %w", opts.Name, err)
		}
	}
	pidf, err := lockPidFile(PidFile(opts.RunDir, opts.Name))
	if err != nil {
		return nil, fmt.Errorf("supervise %s: %w", opts.Name, err)
	}
	logf, err := os.OpenFile(LogFile(opts.LogDir, opts.Name), os.O_WRONLY|os.O_CREATE|os.O_APPEND, 0o640)
	if err != nil {
		os.Remove(pidf.Name())
		pidf.Close()
		return nil, fmt.Errorf("supervise %s: open log: %w", opts.Name, err)
	}
	if opts.Stderr == nil {
		opts.Stderr = logf
	}
	sigs := make(chan os.Signal, 4)
	signal.Notify(sigs, syscall.SIGTERM, syscall.SIGINT, syscall.SIGHUP)
	return &supervisor{opts: opts, log: logf, sigs: sigs, pidf: pidf}, nil
}

// close releases what newSupervisor took.
func (s *supervisor) close() {
	signal.Stop(s.sigs)
	s.log.Close()
	os.Remove(AgentPidFile(s.opts.RunDir, s.opts.Name))
	os.Remove(s.pidf.Name())
	s.pidf.Close()
}

// lockPidFile creates path, takes its flock and writes our pid into it.
func lockPidFile(path string) (*os.File, error) {
	f, err := os.OpenFile(path, os.O_RDWR|os.O_CREATE, 0o644)
	if err != nil {
		return nil, err
	}
	if err := syscall.Flock(int(f.Fd()), syscall.LOCK_EX|syscall.LOCK_NB); err != nil {
		f.Close()
		if errors.Is(err, syscall.EWOULDBLOCK) {
			return nil, ErrAlreadyRunning
		}
		return nil, fmt.Errorf("lock %s: %w", path, err)
	}
	if err := f.Truncate(0); err != nil {
		f.Close()
		return nil, err
	}
	if _, err := f.WriteAt([]byte(strconv.Itoa(os.Getpid())+"\n"), 0); err != nil {
		f.Close()
		return nil, err
	}
	return f, nil
}

type supervisor struct {
	opts Options
	log  *os.File
	pidf *os.File
	sigs chan os.Signal
}

func (s *supervisor) logf(format string, args ...any) {
	fmt.Fprintf(s.opts.Stderr, "%s stickyform-supervise[%d] %s: %s\n",
		time.Now().UTC().Format(time.RFC3339), os.Getpid(), s.opts.Name, fmt.Sprintf(format, args...))
}

// loop starts the child again and again until asked to stop.
func (s *supervisor) loop(ctx context.Context) error {
	backoff := s.opts.MinBackoff
	for {
		started := time.Now()
		stop, err := s.runOnce(ctx)
		if stop {
			return err
		}
		if time.Since(started) >= stableAfter {
			backoff = s.opts.MinBackoff
		}
		s.logf("agent exited (%v); restarting in %s", err, backoff)
		if s.sleep(ctx, backoff) {
			return nil
		}
		backoff = min(backoff*2, s.opts.MaxBackoff)
	}
}

// runOnce runs the child once. stop reports that the supervisor itself
// was asked to end (and the child has exited).
func (s *supervisor) runOnce(ctx context.Context) (stop bool, err error) {
	cmd := exec.Command(s.opts.Command[0], s.opts.Command[1:]...)
	cmd.Stdout, cmd.Stderr = s.log, s.log
	if err := cmd.Start(); err != nil {
		return false, err
	}
	pidPath := AgentPidFile(s.opts.RunDir, s.opts.Name)
	if err := writeFileAtomic(pidPath, []byte(strconv.Itoa(cmd.Process.Pid)+"\n")); err != nil {
		s.logf("write %s: %v", pidPath, err)
	}
	done := make(chan error, 1)
	go func() { done <- cmd.Wait() }()
	for {
		select {
		case err := <-done:
			os.Remove(pidPath)
			return false, err
		case sig := <-s.sigs:
			if sig == syscall.SIGHUP {
				cmd.Process.Signal(syscall.SIGHUP)
				continue
			}
			cmd.Process.Signal(syscall.SIGTERM)
			return true, s.waitChild(done, cmd)
		case <-ctx.Done():
			cmd.Process.Signal(syscall.SIGTERM)
			return true, s.waitChild(done, cmd)
		}
	}
}

// stopGrace is how long a stopping agent may drain before it is killed.
const stopGrace = 30 * time.Second

func (s *supervisor) waitChild(done <-chan error, cmd *exec.Cmd) error {
	select {
	case <-done:
	case <-time.After(stopGrace):
		cmd.Process.Kill()
		<-done
	}
	os.Remove(AgentPidFile(s.opts.RunDir, s.opts.Name))
	return nil
}

// sleep waits d; it reports true when the supervisor must stop instead.
func (s *supervisor) sleep(ctx context.Context, d time.Duration) bool {
	t := time.NewTimer(d)
	defer t.Stop()
	for {
		select {
		case <-t.C:
			return false
		case <-ctx.Done():
			return true
		case sig := <-s.sigs:
			if sig != syscall.SIGHUP {
				return true
			}
		}
	}
}

// writeFileAtomic writes data to a temp file beside path and renames it.
func writeFileAtomic(path string, data []byte) error {
	tmp, err := os.CreateTemp(filepath.Dir(path), "."+filepath.Base(path)+".*")
	if err != nil {
		return err
	}
	if _, err := tmp.Write(data); err != nil {
		tmp.Close()
		os.Remove(tmp.Name())
		return err
	}
	if err := tmp.Close(); err != nil {
		os.Remove(tmp.Name())
		return err
	}
	if err := os.Rename(tmp.Name(), path); err != nil {
		os.Remove(tmp.Name())
		return err
	}
	return nil
}
