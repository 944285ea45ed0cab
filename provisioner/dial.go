package provisioner

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"os"
	"strings"
	"syscall"
	"time"

	"golang.org/x/crypto/ssh"
	"golang.org/x/crypto/ssh/agent"
)

// dialAttempts bounds retries of connection setup. Only transient network
// failures are retried, never authentication or host key failures.
const dialAttempts = 3

// ErrAuth marks an authentication failure (wrong key, key not authorized).
var ErrAuth = errors.New("provisioner: authentication failed")

// Dial connects to t, verifying its host key, and starts keepalives.
func Dial(ctx context.Context, t Target, o Options) (*Client, error) {
	t = t.withDefaults()
	if o.ConnectTimeout == 0 {
		o.ConnectTimeout = DefaultConnectTimeout
	}
	if o.KeepAliveInterval == 0 {
		o.KeepAliveInterval = DefaultKeepAliveInterval
	}
	hk, err := newHostKeyCheck(t, o.TrustNewHosts)
	if err != nil {
		return nil, fmt.Errorf("dial %s: %w", t, err)
	}
	auth, closeAuth, err := authMethod(t)
	if err != nil {
		return nil, fmt.Errorf("dial %s: %w", t, err)
	}
	defer closeAuth()
	cfg := &ssh.ClientConfig{
		User:              t.User,
		Auth:              []ssh.AuthMethod{auth},
		HostKeyCallback:   hk.callback,
		HostKeyAlgorithms: hk.algorithms(),
		Timeout:           o.ConnectTimeout,
	}
	var conn *ssh.Client
	backoff := 200 * time.Millisecond
	for attempt := 1; ; attempt++ {
		conn, err = dialOnce(ctx, t, cfg, o.ConnectTimeout)
		if err == nil || attempt == dialAttempts || !retryable(err) {
			break
		}
		select {
		case <-ctx.Done():
			return nil, fmt.Errorf("dial %s: %w (after: %v)", t, ctx.Err(), err)
		case <-time.After(backoff):
		}
		backoff *= 2
	}
	if err != nil {
		return nil, classifyDialErr(t, err)
	}
	c := &Client{target: t, conn: conn, sessions: make(chan struct{}, maxSessions), done: make(chan struct{})}
	go c.keepAlive(o.KeepAliveInterval)
	return c, nil
}

// dialOnce makes one TCP connection and SSH handshake within timeout.
func dialOnce(ctx context.Context, t Target, cfg *ssh.ClientConfig, timeout time.Duration) (*ssh.Client, error) {
	ctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	nc, err := (&net.Dialer{KeepAlive: 15 * time.Second}).DialContext(ctx, "tcp", t.addr())
	if err != nil {
		return nil, err
	}
	deadline, _ := ctx.Deadline()
	nc.SetDeadline(deadline)
	// The handshake has no context; closing the socket aborts it.
	stop := context.AfterFunc(ctx, func() { nc.Close() })
	c, chans, reqs, err := ssh.NewClientConn(nc, t.addr(), cfg)
	stopped := stop()
	if err != nil {
		nc.Close()
		if !stopped && ctx.Err() != nil {
			return nil, fmt.Errorf("ssh handshake: %w", ctx.Err())
		}
		return nil, err
	}
	nc.SetDeadline(time.Time{})
	return ssh.NewClient(c, chans, reqs), nil
}

// retryable reports whether a setup failure is transient.
func retryable(err error) bool {
	var hkc *HostKeyChangedError
	var uh *UnknownHostError
	if errors.As(err, &hkc) || errors.As(err, &uh) || isAuthErr(err) {
		return false
	}
	var ne net.Error
	return errors.Is(err, syscall.ECONNREFUSED) || errors.Is(err, syscall.ECONNRESET) ||
		errors.Is(err, io.EOF) || errors.Is(err, context.DeadlineExceeded) ||
		(errors.As(err, &ne) && ne.Timeout())
}

func isAuthErr(err error) bool {
	msg := err.Error()
	return strings.Contains(msg, "unable to authenticate") || strings.Contains(msg, "no supported methods remain")
}

// classifyDialErr turns the last setup error into the returned one.
func classifyDialErr(t Target, err error) error {
	var hkc *HostKeyChangedError
	var uh *UnknownHostError
	switch {
	case errors.As(err, &hkc):
		return hkc
	case errors.As(err, &uh):
		return uh
	case isAuthErr(err):
		how := "the keys of ssh-agent"
		if t.IdentityFile != "" {
			how = "identity file " + t.IdentityFile
		}
		return fmt.Errorf("dial %s: %w for user %s with %s (is the public key in ~%s/.ssh/authorized_keys?): %v",
			t, ErrAuth, t.User, how, t.User, err)
	}
	return fmt.Errorf("dial %s: %w", t, err)
}

// authMethod returns public key auth from the identity file or the agent,
// and a function releasing the agent connection.
func authMethod(t Target) (ssh.AuthMethod, func(), error) {
	if t.IdentityFile != "" {
		pem, err := os.ReadFile(t.IdentityFile)
		if err != nil {
			return nil, nil, fmt.Errorf("read identity file: %w", err)
		}
		signer, err := ssh.ParsePrivateKey(pem)
		var pp *ssh.PassphraseMissingError
		if errors.As(err, &pp) {
			return nil, nil, fmt.Errorf("identity file %s is encrypted; load it into ssh-agent (ssh-add) and leave identity_file unset", t.IdentityFile)
		}
		if err != nil {
			return nil, nil, fmt.Errorf("parse identity file %s: %w", t.IdentityFile, err)
		}
		return ssh.PublicKeys(signer), func() {}, nil
	}
	sock := os.Getenv("SSH_AUTH_SOCK")
	if sock == "" {
		return nil, nil, errors.New("no identity_file given and SSH_AUTH_SOCK is not set (no ssh-agent to ask for keys)")
	}
	ac, err := net.Dial("unix", sock)
	if err != nil {
		return nil, nil, fmt.Errorf("connect to ssh-agent at %s: %w", sock, err)
	}
	// The agent is only asked to sign; it is never forwarded to the host.
	return ssh.PublicKeysCallback(agent.NewClient(ac).Signers), func() { ac.Close() }, nil
}
