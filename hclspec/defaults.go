package hclspec

import (
	"net"
	"time"
)

// Defaults fill what the configuration left unset, one resource at a time,
// after decoding and before validation. "Unset" means absent from the
// ranges index, so an explicit port = 0 stays 0 and is reported by
// validation instead of being silently replaced.

// Default values of the language, as documented in README.
const (
	DefaultSSHPort        = 22
	DefaultUser           = "root"
	DefaultKnownHosts     = "~/.ssh/known_hosts"
	DefaultCachePort      = 11211
	DefaultCacheMemoryMB  = 64
	DefaultCacheEngine    = "builtin"
	DefaultMaxItemSize    = 1 << 20
	DefaultMaxConns       = 1024
	DefaultAppPort        = 8080
	DefaultSessionCookie  = "JSESSIONID"
	DefaultSessionTimeout = 30 * time.Minute
	DefaultSessionMode    = "sticky"
	DefaultLocking        = "auto"
	DefaultProxyPort      = 80
	DefaultBalance        = "round-robin"
	DefaultAdminListen    = "127.0.0.1:9180"
	DefaultStickyName     = "route"
	DefaultStickyHash     = "md5"
	DefaultStickyPath     = "/"
	DefaultHealthPath     = "/health"
	DefaultHealthInterval = 2 * time.Second
	DefaultHealthTimeout  = time.Second
	DefaultHealthFall     = 3
	DefaultHealthRise     = 2
)

func setDefault[T any](r ranges, key string, dst *T, v T) {
	if !r.has(key) {
		*dst = v
	}
}

func defaultHost(h *Host, r ranges) {
	p := h.Addr()
	setDefault(r, p+".port", &h.Port, DefaultSSHPort)
	setDefault(r, p+".user", &h.User, DefaultUser)
	setDefault(r, p+".known_hosts", &h.KnownHosts, DefaultKnownHosts)
	h.KnownHosts = expandHome(h.KnownHosts)
	h.IdentityFile = expandHome(h.IdentityFile)
}

func defaultCache(c *Cache, r ranges) {
	p := c.Addr()
	if c.Host != nil && !c.External {
		setDefault(r, p+".listen", &c.Listen, bindDefault(c.Host))
		c.Address = c.Host.Address
	}
	setDefault(r, p+".port", &c.Port, DefaultCachePort)
	setDefault(r, p+".memory_mb", &c.MemoryMB, DefaultCacheMemoryMB)
	setDefault(r, p+".engine", &c.Engine, DefaultCacheEngine)
	setDefault(r, p+".max_item_size", &c.MaxItemSize, DefaultMaxItemSize)
	setDefault(r, p+".max_conns", &c.MaxConns, DefaultMaxConns)
}

func defaultApp(a *App, r ranges) {
	p := a.Addr()
	if a.Host != nil {
		setDefault(r, p+".listen", &a.Listen, bindDefault(a.Host))
	}
	setDefault(r, p+".port", &a.Port, DefaultAppPort)
	s := &a.Session
	setDefault(r, p+".session.cookie", &s.Cookie, DefaultSessionCookie)
	setDefault(r, p+".session.timeout", &s.Timeout, DefaultSessionTimeout)
	setDefault(r, p+".session.mode", &s.Mode, DefaultSessionMode)
	setDefault(r, p+".session.locking", &s.Locking, DefaultLocking)
	if !r.has(p + ".session.failover_nodes") {
		s.FailoverNodes = localNodes(a)
	}
}

// localNodes is the classic cross storage: an app keeps the caches on its
// own host only for failover, so its sessions live on another host and
// survive the loss of its own. When every node is local there is nowhere
// else to store, so there are no failover nodes.
func localNodes(a *App) []*Cache {
	local := []*Cache{}
	for _, c := range a.Session.Nodes {
		if c.Host != nil && a.Host != nil && c.Host.Address == a.Host.Address {
			local = append(local, c)
		}
	}
	if len(local) == len(a.Session.Nodes) {
		return []*Cache{}
	}
	return local
}

// bindDefault is the address a listener binds when the config does not
// say: the host's address when it is an IP, else every address (a DNS
// name may resolve differently on the host than here).
func bindDefault(h *Host) string {
	if net.ParseIP(h.Address) != nil {
		return h.Address
	}
	return "0.0.0.0"
}

func defaultProxy(p *Proxy, r ranges) {
	a := p.Addr()
	if p.Host != nil {
		setDefault(r, a+".listen_address", &p.ListenAddr, bindDefault(p.Host))
	}
	setDefault(r, a+".listen", &p.Listen, DefaultProxyPort)
	setDefault(r, a+".balance", &p.Balance, DefaultBalance)
	setDefault(r, a+".admin_listen", &p.AdminListen, DefaultAdminListen)
	setDefault(r, a+".access_log", &p.AccessLog, "/var/log/stickyform/proxy-"+p.Name+".access.log")
	for i := range p.Weights {
		if p.Weights[i] == 0 {
			p.Weights[i] = 1
		}
	}
	s := &p.Sticky
	setDefault(r, a+".sticky.name", &s.Name, DefaultStickyName)
	setDefault(r, a+".sticky.hash", &s.Hash, DefaultStickyHash)
	setDefault(r, a+".sticky.path", &s.Path, DefaultStickyPath)
	setDefault(r, a+".sticky.httponly", &s.HTTPOnly, true)
	h := &p.HealthCheck
	setDefault(r, a+".health_check.path", &h.Path, DefaultHealthPath)
	setDefault(r, a+".health_check.interval", &h.Interval, DefaultHealthInterval)
	setDefault(r, a+".health_check.timeout", &h.Timeout, DefaultHealthTimeout)
	setDefault(r, a+".health_check.fall", &h.Fall, DefaultHealthFall)
	setDefault(r, a+".health_check.rise", &h.Rise, DefaultHealthRise)
}
