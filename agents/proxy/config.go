package proxy

import (
	"errors"
	"fmt"
	"github.com/stickyform/stickyform/agents/agentconfig"
	"net"
	"net/url"
	"strings"
	"time"
)

// Duration is a JSON duration string ("2s"), shared by the agents.
type Duration = agentconfig.Duration

// Config is the proxy agent's configuration, as written by the engine to
// /etc/stickyform/proxy-<name>.json. Zero values mean the documented
// defaults, applied by withDefaults.
type Config struct {
	// Name names the proxy in logs and metrics.
	Name string `json:"name"`
	// Listen is the client-facing address, e.g. "172.25.1.2:80".
	Listen string `json:"listen"`
	// AdminListen serves /health, /status and /metrics.
	// If empty, DefaultAdminListen; "off" disables it.
	AdminListen string `json:"admin_listen"`
	// Backends are the upstream servers, in an order that decides the
	// sticky "index" value; every proxy of a tier must list them alike.
	Backends []Backend `json:"backends"`
	// Balance picks a backend for a new session: "round-robin" (weighted,
	// the default) or "least-conn".
	Balance string `json:"balance"`
	// Sticky holds nginx-sticky-module-ng's options.
	Sticky Sticky `json:"sticky"`
	// HealthCheck configures active checks; a zero Interval disables them.
	HealthCheck HealthCheck `json:"health_check"`
	// AccessLog is a file for nginx-combined access lines; "" disables it,
	// "-" writes to stderr.
	AccessLog string `json:"access_log"`

	// The fields below are optional additions to the contract.

	// MaxFails failures within FailTimeout mark a backend down for
	// FailTimeout (nginx's passive health). If zero, 1, as in nginx.
	MaxFails int `json:"max_fails,omitempty"`
	// FailTimeout: if zero, 10s, as in nginx.
	FailTimeout Duration `json:"fail_timeout,omitempty"`
	// ConnectTimeout bounds a backend connect. If zero, 1s.
	ConnectTimeout Duration `json:"connect_timeout,omitempty"`
	// ReadTimeout bounds the wait for a backend's response header and each
	// read of its body. If zero, DefaultReadTimeout.
	ReadTimeout Duration `json:"read_timeout,omitempty"`
	// ClientHeaderTimeout bounds reading a client's request header,
	// ClientBodyTimeout each read of its body, IdleTimeout a kept-alive
	// client connection between requests. If zero, 60s, 60s and 75s.
	ClientHeaderTimeout Duration `json:"client_header_timeout,omitempty"`
	ClientBodyTimeout   Duration `json:"client_body_timeout,omitempty"`
	IdleTimeout         Duration `json:"idle_timeout,omitempty"`
	// KeepAlive is the number of idle connections kept per backend (by each
	// event loop, and by the goroutine path).
	// If zero, DefaultKeepAlive.
	KeepAlive int `json:"keepalive,omitempty"`
	// TLSCert and TLSKey, when both set, make Listen serve HTTPS.
	TLSCert string `json:"tls_cert,omitempty"`
	TLSKey  string `json:"tls_key,omitempty"`
}

// Backend is one upstream server.
type Backend struct {
	// URL is "http://host:port"; its host:port is what the sticky hash
	// covers, as nginx-sticky-module-ng hashes the peer's address.
	URL string `json:"url"`
	// Weight for round-robin. If zero, 1.
	Weight int `json:"weight"`
}

// Sticky holds nginx-sticky-module-ng's options (plus SameSite).
type Sticky struct {
	// Name of the cookie. If empty, "route".
	Name string `json:"name"`
	// Hash is "md5" (default), "sha1", "index" or "hmac".
	Hash string `json:"hash"`
	// HMACKey is required with Hash "hmac".
	HMACKey string `json:"hmac_key"`
	// Expires is the cookie lifetime; zero makes a session cookie.
	Expires Duration `json:"expires"`
	// Domain and Path of the cookie; an empty Path means "/".
	Domain string `json:"domain"`
	Path   string `json:"path"`
	// Secure and HTTPOnly add those cookie attributes.
	Secure   bool `json:"secure"`
	HTTPOnly bool `json:"httponly"`
	// SameSite is "", "strict", "lax" or "none".
	SameSite string `json:"samesite"`
	// NoFallback answers 502 when the cookie's backend is down instead of
	// moving the client to another backend.
	NoFallback bool `json:"no_fallback"`
}

// HealthCheck configures active health checks of the backends.
type HealthCheck struct {
	// Path is requested with GET; a 2xx or 3xx answer is healthy.
	// If empty while Interval is set, "/health".
	Path string `json:"path"`
	// Interval between checks; zero disables active checks.
	Interval Duration `json:"interval"`
	// Timeout per check. If zero, 1s.
	Timeout Duration `json:"timeout"`
	// Fall consecutive failures mark a backend down, Rise consecutive
	// successes up again. If zero, 3 and 2.
	Fall int `json:"fall"`
	Rise int `json:"rise"`
}

// Defaults for the zero values of Config.
const (
	DefaultAdminListen    = "127.0.0.1:9180"
	DefaultStickyName     = "route"
	DefaultStickyPath     = "/"
	DefaultHash           = "md5"
	DefaultBalance        = "round-robin"
	DefaultMaxFails       = 1
	DefaultFailTimeout    = 10 * time.Second
	DefaultConnectTimeout = time.Second
	DefaultReadTimeout    = 5 * time.Second
	DefaultClientTimeout  = 60 * time.Second
	DefaultIdleTimeout    = 75 * time.Second
	DefaultKeepAlive      = 128
	DefaultCheckPath      = "/health"
	DefaultCheckTimeout   = time.Second
	DefaultFall           = 3
	DefaultRise           = 2
)

// LoadConfig reads a Config from a JSON file. Unknown fields are an error so
// that a typo in a generated file is caught at start, not silently ignored.
func LoadConfig(path string) (Config, error) {
	var c Config
	if err := agentconfig.Load(path, "proxy", &c); err != nil {
		return Config{}, err
	}
	return c, nil
}

// withDefaults returns c with zero fields set to their defaults.
func (c Config) withDefaults() Config {
	setStr(&c.AdminListen, DefaultAdminListen)
	setStr(&c.Balance, DefaultBalance)
	setStr(&c.Sticky.Name, DefaultStickyName)
	setStr(&c.Sticky.Path, DefaultStickyPath)
	setStr(&c.Sticky.Hash, DefaultHash)
	setInt(&c.MaxFails, DefaultMaxFails)
	setDur(&c.FailTimeout, DefaultFailTimeout)
	setDur(&c.ConnectTimeout, DefaultConnectTimeout)
	setDur(&c.ReadTimeout, DefaultReadTimeout)
	setDur(&c.ClientHeaderTimeout, DefaultClientTimeout)
	setDur(&c.ClientBodyTimeout, DefaultClientTimeout)
	setDur(&c.IdleTimeout, DefaultIdleTimeout)
	setInt(&c.KeepAlive, DefaultKeepAlive)
	setStr(&c.HealthCheck.Path, DefaultCheckPath)
	setDur(&c.HealthCheck.Timeout, DefaultCheckTimeout)
	setInt(&c.HealthCheck.Fall, DefaultFall)
	setInt(&c.HealthCheck.Rise, DefaultRise)
	bs := make([]Backend, len(c.Backends))
	for i, b := range c.Backends {
		setInt(&b.Weight, 1)
		bs[i] = b
	}
	c.Backends = bs
	return c
}

func setStr(p *string, v string) {
	if *p == "" {
		*p = v
	}
}

func setInt(p *int, v int) {
	if *p == 0 {
		*p = v
	}
}

func setDur(p *Duration, v time.Duration) {
	if *p == 0 {
		*p = Duration(v)
	}
}

// validate reports the first problem with a defaulted Config.
func (c Config) validate() error {
	if c.Listen == "" {
		return errors.New("listen address is required")
	}
	if _, _, err := net.SplitHostPort(c.Listen); err != nil {
		return fmt.Errorf("listen address %q: %w", c.Listen, err)
	}
	if c.AdminListen != "off" {
		if _, _, err := net.SplitHostPort(c.AdminListen); err != nil {
			return fmt.Errorf("admin_listen %q: %w", c.AdminListen, err)
		}
	}
	if len(c.Backends) == 0 {
		return errors.New("at least one backend is required")
	}
	seen := map[string]bool{}
	for _, b := range c.Backends {
		hp, err := backendHostPort(b.URL)
		if err != nil {
			return err
		}
		if seen[hp] {
			return fmt.Errorf("backend %q: listed twice", b.URL)
		}
		seen[hp] = true
		if b.Weight < 1 {
			return fmt.Errorf("backend %q: weight %d must be at least 1", b.URL, b.Weight)
		}
	}
	return c.validateOptions()
}

func (c Config) validateOptions() error {
	switch c.Balance {
	case "round-robin", "least-conn":
	default:
		return fmt.Errorf("balance %q: want round-robin or least-conn", c.Balance)
	}
	switch c.Sticky.Hash {
	case "md5", "sha1", "index":
	case "hmac":
		if c.Sticky.HMACKey == "" {
			return errors.New("sticky hash hmac needs hmac_key")
		}
	default:
		return fmt.Errorf("sticky hash %q: want md5, sha1, index or hmac", c.Sticky.Hash)
	}
	switch strings.ToLower(c.Sticky.SameSite) {
	case "", "strict", "lax", "none":
	default:
		return fmt.Errorf("sticky samesite %q: want strict, lax or none", c.Sticky.SameSite)
	}
	if strings.ContainsAny(c.Sticky.Name, " ;,=\t\r\n") || strings.ContainsAny(c.Sticky.Domain+c.Sticky.Path, ";\r\n") {
		return errors.New("sticky cookie name, domain or path contains a forbidden character")
	}
	if c.HealthCheck.Interval < 0 || c.HealthCheck.Fall < 1 || c.HealthCheck.Rise < 1 {
		return errors.New("health_check: interval must not be negative, fall and rise at least 1")
	}
	if c.MaxFails < 0 || c.KeepAlive < 0 {
		return errors.New("max_fails and keepalive must not be negative")
	}
	if (c.TLSCert == "") != (c.TLSKey == "") {
		return errors.New("tls_cert and tls_key go together")
	}
	return nil
}

// backendHostPort returns the "host:port" of a backend URL, the form
// nginx-sticky-module-ng hashes (the peer's printed socket address).
func backendHostPort(raw string) (string, error) {
	u, err := url.Parse(raw)
	if err != nil {
		return "", fmt.Errorf("backend %q: %w", raw, err)
	}
	if u.Scheme != "http" {
		return "", fmt.Errorf("backend %q: scheme must be http", raw)
	}
	if u.Host == "" || (u.Path != "" && u.Path != "/") || u.RawQuery != "" {
		return "", fmt.Errorf("backend %q: want http://host:port", raw)
	}
	host, port := u.Hostname(), u.Port()
	if port == "" {
		port = "80"
	}
	return net.JoinHostPort(host, port), nil
}
