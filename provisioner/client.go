// Package provisioner reaches hosts over SSH the way an operator would: it
// verifies host keys against known_hosts (or a pinned key), authenticates
// with an identity file or ssh-agent, keeps one multiplexed connection per
// host alive with keepalives, runs commands (under sudo -n for non-root
// users), uploads files atomically and gathers host facts in one round trip.
package provisioner

import (
	"errors"
	"fmt"
	"net"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"time"

	"golang.org/x/crypto/ssh"
)

// Defaults used when the matching Options field is zero.
const (
	DefaultConnectTimeout    = 10 * time.Second
	DefaultKeepAliveInterval = 2 * time.Second
	// maxSessions stays below OpenSSH's default MaxSessions (10) so callers
	// sharing one Client never see "administratively prohibited".
	maxSessions = 8
)

// Target names one host and how to reach it.
type Target struct {
	Name    string // for messages; Address is used when empty
	Address string // host name or IP
	Port    int    // if zero, 22
	User    string // if empty, root
	// IdentityFile is a private key file; if empty the keys of the
	// ssh-agent at SSH_AUTH_SOCK are used. The agent is never forwarded.
	// A leading ~/ means the home directory, here and in KnownHosts.
	IdentityFile string
	// KnownHosts is the known_hosts file; if empty ~/.ssh/known_hosts.
	KnownHosts string
	// HostKey pins the host key (authorized_keys format); when set,
	// KnownHosts is not consulted.
	HostKey string
}

// Options tune how Dial connects.
type Options struct {
	// ConnectTimeout bounds one TCP connect plus SSH handshake. If zero,
	// DefaultConnectTimeout is used.
	ConnectTimeout time.Duration
	// TrustNewHosts records the key of a host missing from known_hosts
	// instead of refusing it (trust on first use, only when asked).
	TrustNewHosts bool
	// KeepAliveInterval is how often a keepalive@openssh.com request is
	// sent. A connection whose keepalive gets no reply within three
	// intervals is closed, so every call blocked on it fails. If zero,
	// DefaultKeepAliveInterval is used.
	KeepAliveInterval time.Duration
}

// Client is one SSH connection to one host. It is safe for concurrent use:
// each Run, Upload or Facts call is its own session on the shared
// connection.
type Client struct {
	target   Target
	conn     *ssh.Client
	sessions chan struct{} // semaphore of open sessions
	done     chan struct{} // closed by Close
	once     sync.Once

	mu   sync.Mutex
	lost error // why the connection died, if it did
}

// withDefaults fills the zero fields of t.
func (t Target) withDefaults() Target {
	if t.Port == 0 {
		t.Port = 22
	}
	if t.User == "" {
		t.User = "root"
	}
	if t.Name == "" {
		t.Name = t.Address
	}
	t.IdentityFile = expandHome(t.IdentityFile)
	t.KnownHosts = expandHome(t.KnownHosts)
	return t
}

// expandHome turns a leading ~/ into the user's home directory, as ssh
// does for the same settings.
func expandHome(path string) string {
	rest, ok := strings.CutPrefix(path, "~/")
	if !ok {
		return path
	}
	home, err := os.UserHomeDir()
	if err != nil {
		return path
	}
	return filepath.Join(home, rest)
}

// addr is host:port for net.Dial.
func (t Target) addr() string {
	return net.JoinHostPort(t.Address, strconv.Itoa(t.Port))
}

// String names the target in messages: "server3 (root@172.25.1.3:22)".
func (t Target) String() string {
	return fmt.Sprintf("%s (%s@%s)", t.Name, t.User, t.addr())
}

// Target returns the target this client is connected to, defaults filled.
func (c *Client) Target() Target { return c.target }

// RemoteAddr is the address the connection reached (the host's IP and
// port), e.g. to judge how near the host is.
func (c *Client) RemoteAddr() net.Addr { return c.conn.RemoteAddr() }

// Close closes the connection; sessions still running fail.
func (c *Client) Close() error {
	var err error
	c.once.Do(func() {
		close(c.done)
		err = c.conn.Close()
	})
	if errors.Is(err, net.ErrClosed) {
		err = nil
	}
	return err
}

// markLost records why the connection died and closes it.
func (c *Client) markLost(err error) {
	c.mu.Lock()
	if c.lost == nil {
		c.lost = err
	}
	c.mu.Unlock()
	c.conn.Close()
}

// lostErr reports why the connection died, or nil.
func (c *Client) lostErr() error {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.lost
}

// keepAlive sends keepalive requests until Close and closes the connection
// when one goes unanswered for three intervals.
func (c *Client) keepAlive(interval time.Duration) {
	t := time.NewTicker(interval)
	defer t.Stop()
	for {
		select {
		case <-c.done:
			return
		case <-t.C:
		}
		reply := make(chan error, 1)
		go func() {
			_, _, err := c.conn.SendRequest("keepalive@openssh.com", true, nil)
			reply <- err
		}()
		select {
		case <-c.done:
			return
		case err := <-reply:
			if err != nil {
				c.markLost(fmt.Errorf("connection to %s lost: keepalive: %w", c.target, err))
				return
			}
		case <-time.After(3 * interval):
			c.markLost(fmt.Errorf("connection to %s lost: no keepalive reply within %s", c.target, 3*interval))
			return
		}
	}
}
