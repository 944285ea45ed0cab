package provisioner

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"strings"

	"golang.org/x/crypto/ssh"
)

// ErrSudoPassword means sudo on the host wants a password, which an
// unattended run cannot give.
var ErrSudoPassword = errors.New("provisioner: sudo requires a password")

// ExitError is a remote command that ran and failed.
type ExitError struct {
	Host   string
	Cmd    string
	Code   int // -1 when the command died without an exit status (signal)
	Signal string
	Stdout []byte
	Stderr []byte
}

func (e *ExitError) Error() string {
	status := fmt.Sprintf("exit status %d", e.Code)
	if e.Signal != "" {
		status = "killed by signal " + e.Signal
	}
	out := e.Stderr
	if len(bytes.TrimSpace(out)) == 0 {
		out = e.Stdout
	}
	return fmt.Sprintf("run on %s: %s: %s; output:\n%s", e.Host, summarize(e.Cmd), status, tail(out, 4096))
}

// Run runs cmd with sh -c (under sudo -n when the user is not root),
// feeding it stdin when not nil, and returns its stdout. A non-zero exit is
// an *ExitError naming host and command.
func (c *Client) Run(ctx context.Context, cmd string, stdin io.Reader) ([]byte, error) {
	stdout, _, err := c.run(ctx, cmd, stdin)
	return stdout, err
}

// wrap turns cmd into the command line sent to the host.
func (c *Client) wrap(cmd string) string {
	if c.target.User == "root" {
		return "sh -c " + shellQuote(cmd)
	}
	return "sudo -n sh -c " + shellQuote(cmd)
}

// run runs cmd in a new session and returns stdout and stderr.
func (c *Client) run(ctx context.Context, cmd string, stdin io.Reader) ([]byte, []byte, error) {
	sess, release, err := c.newSession(ctx)
	if err != nil {
		return nil, nil, fmt.Errorf("run on %s: %s: %w", c.target.Name, summarize(cmd), err)
	}
	defer release()
	var stdout, stderr bytes.Buffer
	sess.Stdout, sess.Stderr, sess.Stdin = &stdout, &stderr, stdin
	done := make(chan error, 1)
	go func() { done <- sess.Run(c.wrap(cmd)) }()
	select {
	case err = <-done:
	case <-ctx.Done():
		// The buffers may still be written to, so they are not returned.
		sess.Signal(ssh.SIGKILL)
		sess.Close()
		return nil, nil, fmt.Errorf("run on %s: %s: %w", c.target.Name, summarize(cmd), ctx.Err())
	}
	return stdout.Bytes(), stderr.Bytes(), c.runErr(cmd, err, stdout.Bytes(), stderr.Bytes())
}

// runErr classifies how a session ended.
func (c *Client) runErr(cmd string, err error, stdout, stderr []byte) error {
	if err == nil {
		return nil
	}
	var ee *ssh.ExitError
	if errors.As(err, &ee) {
		if c.target.User != "root" && ee.ExitStatus() == 1 && bytes.Contains(stderr, []byte("a password is required")) {
			return fmt.Errorf("run on %s: %w for user %s; allow it without a password (NOPASSWD in sudoers) or connect as root", c.target, ErrSudoPassword, c.target.User)
		}
		if c.target.User != "root" && ee.ExitStatus() == 127 && (bytes.Contains(stderr, []byte("sudo: not found")) || bytes.Contains(stderr, []byte("sudo: command not found"))) {
			return fmt.Errorf("run on %s: sudo is not installed, and user %s is not root; install sudo or connect as root: %s", c.target, c.target.User, bytes.TrimSpace(stderr))
		}
		code := ee.ExitStatus()
		if ee.Signal() != "" {
			code = -1
		}
		return &ExitError{Host: c.target.Name, Cmd: cmd, Code: code, Signal: ee.Signal(), Stdout: stdout, Stderr: stderr}
	}
	if lost := c.lostErr(); lost != nil {
		return fmt.Errorf("run on %s: %s: %w", c.target.Name, summarize(cmd), lost)
	}
	var em *ssh.ExitMissingError
	if errors.As(err, &em) {
		return &ExitError{Host: c.target.Name, Cmd: cmd, Code: -1, Signal: "unknown (no exit status)", Stdout: stdout, Stderr: stderr}
	}
	return fmt.Errorf("run on %s: %s: %w", c.target.Name, summarize(cmd), err)
}

// newSession opens a session, waiting for a free slot, and returns a
// function that closes it and frees the slot.
func (c *Client) newSession(ctx context.Context) (*ssh.Session, func(), error) {
	select {
	case c.sessions <- struct{}{}:
	case <-ctx.Done():
		return nil, nil, ctx.Err()
	case <-c.done:
		return nil, nil, errors.New("client closed")
	}
	sess, err := c.conn.NewSession()
	if err != nil {
		<-c.sessions
		if lost := c.lostErr(); lost != nil {
			return nil, nil, lost
		}
		return nil, nil, fmt.Errorf("open session: %w", err)
	}
	return sess, func() { sess.Close(); <-c.sessions }, nil
}

// shellQuote quotes s for a POSIX shell.
func shellQuote(s string) string {
	return "'" + strings.ReplaceAll(s, "'", `'\''`) + "'"
}

// summarize shortens a command for messages: its first line, cut at 120 bytes.
func summarize(cmd string) string {
	line, _, more := strings.Cut(strings.TrimSpace(cmd), "\n")
	if len(line) > 120 {
		line, more = line[:120], true
	}
	if more {
		line += " ..."
	}
	return "`" + line + "`"
}

// tail keeps the last n bytes of b.
func tail(b []byte, n int) string {
	if len(b) > n {
		return "..." + string(b[len(b)-n:])
	}
	return string(b)
}
