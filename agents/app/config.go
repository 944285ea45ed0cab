package app

import (
	"errors"
	"fmt"
	"time"

	"github.com/stickyform/stickyform/agents/agentconfig"
	"github.com/stickyform/stickyform/agents/app/sessions"
)

// Duration is a JSON duration string ("30m"), shared by the agents.
type Duration = agentconfig.Duration

// Config is the app agent's configuration, as written by the engine to
// /etc/stickyform/app-<name>.json. Zero values mean the documented defaults.
type Config struct {
	// Name is the server name shown on the demo page and in /api/session.
	Name string `json:"name"`
	// Listen is the HTTP listen address, e.g. "172.25.1.3:8080".
	Listen string `json:"listen"`
	// Nodes lists the session stores in memcached-session-manager's format:
	// "n1:host:port n2:host:port" (space or comma separated).
	Nodes string `json:"nodes"`
	// FailoverNodes names nodes used only when no other node is up: "n1".
	FailoverNodes string `json:"failover_nodes"`
	// Mode is "sticky" or "non-sticky". If empty, "sticky".
	Mode string `json:"mode"`
	// Cookie is the session cookie name. If empty, "JSESSIONID".
	Cookie string `json:"cookie"`
	// Timeout is the session's idle lifetime (the memcached expiry).
	// If zero, 30m.
	Timeout Duration `json:"timeout"`
	// Locking is "none", "all" or "auto" (non-sticky concurrency control).
	// If empty, "auto".
	Locking string `json:"locking"`
	// Static is a directory served for paths that are not the agent's own.
	Static string `json:"static"`
	// Upstream is the user's app ("127.0.0.1:PORT") to forward requests to.
	Upstream string `json:"upstream"`
	// Secure forces the Secure cookie attribute even on plain HTTP (behind a
	// TLS-terminating proxy). Without it Secure is set only for TLS requests.
	Secure bool `json:"secure,omitempty"`
	// BackupAsync (sticky mode) writes a changed session after the response
	// instead of before it, like MSM's sessionBackupAsync=true: less latency
	// for writes, but a change not yet stored is lost if this app or its
	// host fails right after answering. Off by default.
	BackupAsync bool `json:"backup_async,omitempty"`
}

// Defaults for the zero values of Config.
const (
	DefaultMode    = "sticky"
	DefaultCookie  = "JSESSIONID"
	DefaultTimeout = 30 * time.Minute
	DefaultLocking = "auto"
)

// LoadConfig reads a Config from a JSON file. Unknown fields are an error so
// that a typo in a generated file is caught at start, not silently ignored.
func LoadConfig(path string) (Config, error) {
	var c Config
	if err := agentconfig.Load(path, "app", &c); err != nil {
		return Config{}, err
	}
	return c, nil
}

// withDefaults fills the zero values with the defaults.
func (c Config) withDefaults() Config {
	if c.Mode == "" {
		c.Mode = DefaultMode
	}
	if c.Cookie == "" {
		c.Cookie = DefaultCookie
	}
	if c.Timeout == 0 {
		c.Timeout = Duration(DefaultTimeout)
	}
	if c.Locking == "" {
		c.Locking = DefaultLocking
	}
	return c
}

// validate reports the first problem that would stop the agent from running.
func (c Config) validate() error {
	var errs []error
	if c.Listen == "" {
		errs = append(errs, errors.New("listen address is required"))
	}
	if c.Name == "" {
		errs = append(errs, errors.New("name is required"))
	}
	switch c.Mode {
	case "sticky", "non-sticky":
	default:
		errs = append(errs, fmt.Errorf("mode %q: want sticky or non-sticky", c.Mode))
	}
	switch c.Locking {
	case "none", "all", "auto":
	default:
		errs = append(errs, fmt.Errorf("locking %q: want none, all or auto", c.Locking))
	}
	if c.Timeout < Duration(time.Second) {
		errs = append(errs, fmt.Errorf("timeout %s: must be at least 1s (memcached expiry resolution)", time.Duration(c.Timeout)))
	}
	if !validCookieName(c.Cookie) {
		errs = append(errs, fmt.Errorf("cookie name %q: want letters, digits, '_' or '-'", c.Cookie))
	}
	if _, err := sessions.ParseNodes(c.Nodes, c.FailoverNodes); err != nil {
		errs = append(errs, err)
	}
	return errors.Join(errs...)
}

func validCookieName(s string) bool {
	if s == "" || len(s) > 64 {
		return false
	}
	for _, r := range s {
		ok := r == '_' || r == '-' || r >= '0' && r <= '9' || r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z'
		if !ok {
			return false
		}
	}
	return true
}
