package supervise

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"os/signal"
	"syscall"
	"time"
)

// InlineOK is what `agent ctl start|restart|reload -inline` prints when the
// role is healthy, and nothing else.
const InlineOK = "ok"

// Inline is `agent ctl ACTION -inline`: where the role needs a new
// supervisor (start or restart, without systemd), this process becomes it
// instead of starting one, so a role costs the host one process start
// less. Once the role is healthy it prints InlineOK on out (if the wait
// fails, "Error: " and why), hands its standard files over to the role's
// log (release) and goes on supervising until it is stopped. Callers run
// it in the background and wait for the end of its output, not for its
// exit:
//
//	r=$(stickyform agent ctl start -inline -wait 30s cache-n1 <&3 3<&- 2>&1 &)
//
// Everywhere else (reload, systemd, a supervisor already running) it does
// what ctl does without -inline and prints InlineOK. Errors before it
// supervises are returned, not printed.
func (h Host) Inline(ctx context.Context, action, name string, wait time.Duration, out io.Writer, release func(logFile *os.File)) error {
	h = h.withDefaults()
	report := func(err error) error {
		if err != nil {
			return err
		}
		_, err = io.WriteString(out, InlineOK+"\n")
		return err
	}
	if h.Systemd || (action != "start" && action != "restart") {
		return report(h.ctl(ctx, action, name, wait))
	}
	if action == "restart" {
		if err := h.Stop(ctx, name); err != nil {
			return report(err)
		}
	}
	if _, err := os.Stat(h.ConfigFile(name)); err != nil {
		return report(fmt.Errorf("start %s: %w", name, err))
	}
	args, err := h.agentArgs(name)
	if err != nil {
		return report(err)
	}
	s, err := newSupervisor(Options{Name: name, Command: args, RunDir: h.RunDir, LogDir: h.LogDir})
	if errors.Is(err, ErrAlreadyRunning) {
		return report(h.waitIf(ctx, name, wait))
	}
	if err != nil {
		return report(err)
	}
	defer s.close()
	// We hold the pid file: an agent left by a supervisor that was killed
	// would keep the port from the one we start.
	h.stopOrphan(ctx, name)
	if release != nil {
		// Our own session, as detach gives the supervisors it starts:
		// the role outlives the SSH session that started it.
		syscall.Setsid()
		// A caller that went away before the answer (its shell killed)
		// must not take the supervisor down with SIGPIPE: the write
		// fails, supervision goes on.
		signal.Notify(make(chan os.Signal, 1), syscall.SIGPIPE)
	}
	done := make(chan error, 1)
	go func() { done <- s.loop(ctx) }()
	werr := h.waitIf(ctx, name, wait)
	if werr != nil {
		fmt.Fprintf(out, "Error: %v\n", werr)
	} else {
		report(nil)
	}
	if release != nil {
		release(s.log)
	}
	if werr != nil {
		// As a detached supervisor would, it keeps trying (with backoff);
		// the caller has its error.
		s.logf("role not healthy after start: %v", werr)
	}
	return <-done
}

func (h Host) waitIf(ctx context.Context, name string, wait time.Duration) error {
	if wait == 0 {
		return nil
	}
	return h.WaitHealthy(ctx, name, wait)
}

// ReleaseStdio points this process's standard input at /dev/null and its
// standard output and error at logFile, closing the pipes an SSH session
// waits on: Inline's release for the real process.
func ReleaseStdio(logFile *os.File) {
	if null, err := os.Open(os.DevNull); err == nil {
		syscall.Dup3(int(null.Fd()), 0, 0)
		null.Close()
	}
	syscall.Dup3(int(logFile.Fd()), 1, 0)
	syscall.Dup3(int(logFile.Fd()), 2, 0)
}
