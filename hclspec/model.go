package hclspec

import (
	"time"

	"github.com/hashicorp/hcl/v2"
	"github.com/zclconf/go-cty/cty"
)

// Config is a decoded, defaulted and validated stickyform configuration.
// Slices keep the order of the source files. Every resource has a unique
// Addr such as "cache.n1" (or `app.web["server7"]` for for_each instances).
type Config struct {
	Dir       string
	Variables []*Variable
	Hosts     []*Host
	Caches    []*Cache
	Apps      []*App
	Proxies   []*Proxy
	Outputs   []*Output

	// Dependencies maps every address (var.x, local.y, host.h, cache.c,
	// app.a, proxy.p, output.o; resource instances such as app.web["s7"])
	// to the sorted addresses it refers to: the edges of `graph`.
	Dependencies map[string][]string
}

// Variable is a declared input variable and its final value.
type Variable struct {
	Name        string
	Description string
	Type        cty.Type // cty.DynamicPseudoType when no type was declared
	Sensitive   bool
	Value       cty.Value
	DeclRange   hcl.Range
}

// Output is a named value shown after apply and by `stickyform output`.
type Output struct {
	Name        string
	Description string
	Value       cty.Value
	Sensitive   bool
	DeclRange   hcl.Range
}

// Host is a Linux machine reached over SSH.
type Host struct {
	Name         string
	Address      string
	Port         int    // default 22
	User         string // default "root"
	IdentityFile string // "" means use ssh-agent
	KnownHosts   string // default "~/.ssh/known_hosts" (expanded)
	HostKey      string // pinned authorized_keys-format key, overrides KnownHosts
	DeclRange    hcl.Range
}

// Addr is the resource address, "host.NAME".
func (h *Host) Addr() string { return "host." + h.Name }

// Cache is a memcached-compatible node. External caches have no Host and
// are never touched by plan/apply/destroy.
type Cache struct {
	Name     string
	Host     *Host  // nil when External
	Listen   string // address the cache binds, default Host.Address
	Address  string // address clients use: Host.Address or the external address
	Port     int    // default 11211
	MemoryMB int    // default 64
	Engine   string // "builtin" (default) or "memcached"
	External bool
	// MaxItemSize is the largest value in bytes, default 1048576 (1 MiB).
	MaxItemSize int
	// MaxConns is the connection limit, default 1024.
	MaxConns  int
	DeclRange hcl.Range
}

// Addr is the resource address, "cache.NAME".
func (c *Cache) Addr() string { return "cache." + c.Name }

// Endpoint is host:port as apps dial it.
func (c *Cache) Endpoint() string { return joinHostPort(c.Address, c.Port) }

// App is a session-aware app server.
type App struct {
	Name      string
	Host      *Host
	Listen    string // address the app binds, default Host.Address (0.0.0.0 if that is a DNS name)
	Port      int    // default 8080
	Session   Session
	Static    string // optional docroot on the host
	Upstream  string // optional host:port of the user's own app on the host
	DeclRange hcl.Range
}

// Addr is the resource address, "app.NAME".
func (a *App) Addr() string { return "app." + a.Name }

// Endpoint is host:port as proxies dial it.
func (a *App) Endpoint() string { return joinHostPort(a.Host.Address, a.Port) }

// Session is an app's session block (memcached-session-manager settings).
type Session struct {
	Cookie        string        // default "JSESSIONID"
	Timeout       time.Duration // default 30m
	Mode          string        // "sticky" (default) or "non-sticky"
	Locking       string        // "none", "all" or "auto"; default "auto"
	Nodes         []*Cache
	FailoverNodes []*Cache // default: the Nodes on the app's own host, none if that is all of them
}

// Proxy is a sticky reverse proxy.
type Proxy struct {
	Name        string
	Host        *Host
	ListenAddr  string // address the proxy binds, default Host.Address (0.0.0.0 if that is a DNS name)
	Listen      int    // port, default 80
	Backends    []*App
	Weights     []int  // parallel to Backends; default 1 each
	Balance     string // "round-robin" (default) or "least-conn"
	AdminListen string // admin/metrics listener, default "127.0.0.1:9180"
	AccessLog   string // default "/var/log/stickyform/proxy-NAME.access.log"
	Sticky      Sticky
	HealthCheck HealthCheck
	DeclRange   hcl.Range
}

// Addr is the resource address, "proxy.NAME".
func (p *Proxy) Addr() string { return "proxy." + p.Name }

// Sticky holds nginx-sticky-module-ng's options.
type Sticky struct {
	Name       string        // default "route"
	Hash       string        // md5 (default) | sha1 | index | hmac
	HMACKey    string        // required with hash = "hmac"
	Expires    time.Duration // 0: session cookie
	Domain     string
	Path       string // default "/"
	Secure     bool
	HTTPOnly   bool   // default true
	SameSite   string // "", "strict", "lax" or "none"
	NoFallback bool
}

// HealthCheck configures active health checks of the backends.
type HealthCheck struct {
	Path     string        // default "/health"
	Interval time.Duration // default 2s
	Timeout  time.Duration // default 1s
	Fall     int           // default 3
	Rise     int           // default 2
}
