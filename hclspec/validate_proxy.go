package hclspec

import (
	"net"
	"strconv"
	"strings"
	"time"

	"github.com/hashicorp/hcl/v2"
)

func (v *validation) proxy(p *Proxy) {
	a, def := p.Addr(), p.DeclRange
	if p.Host == nil {
		return // the schema already reported the missing host
	}
	v.port(a+".listen", def, a, p.Listen)
	v.bindAddress(a+".listen_address", def, a, p.ListenAddr)
	if h, port, err := net.SplitHostPort(p.AdminListen); err != nil || net.ParseIP(h) == nil || !validPort(port) {
		v.errorf(a+".admin_listen", def, "Invalid admin_listen", "The admin_listen of %s is %q; it must be IP:PORT, e.g. \"127.0.0.1:9180\".", a, p.AdminListen)
	}
	if !strings.HasPrefix(p.AccessLog, "/") {
		v.errorf(a+".access_log", def, "Relative access_log path", "The access_log of %s is %q; it must be an absolute path on the host.", a, p.AccessLog)
	}
	if len(p.Backends) == 0 {
		v.errorf(a+".backends", def, "No backends", "The proxy %s has no backends to send requests to; list apps, e.g. backends = [app.tomcat1, app.tomcat2].", p.Name)
	}
	duplicates(v, a+".backends", def, p.Backends)
	v.oneOf(a+".balance", def, a, p.Balance, "round-robin", "least-conn")
	v.sticky(p)
	v.healthCheck(p)
}

func (v *validation) sticky(p *Proxy) {
	a, s, def := p.Addr()+".sticky", &p.Sticky, p.DeclRange
	if !validCookieName(s.Name) {
		v.errorf(a+".name", def, "Invalid cookie name", "The sticky cookie name of %s is %q; a cookie name is one or more letters, digits and !#$%%&'*+-.^_`|~.", p.Addr(), s.Name)
	}
	for _, b := range p.Backends {
		if b.Session.Cookie == s.Name {
			v.errorf(a+".name", def, "Sticky cookie clashes with session cookie",
				"The sticky cookie of %s is named %q, the same as the session cookie of its backend %s; the two would overwrite each other, so rename one (the default sticky name is \"route\").", p.Addr(), s.Name, b.Addr())
			break
		}
	}
	v.oneOf(a+".hash", def, "the sticky block of "+p.Addr(), s.Hash, "md5", "sha1", "index", "hmac")
	if s.Hash == "hmac" && s.HMACKey == "" {
		v.errorf(a+".hash", def, "Missing hmac_key", "The sticky hash of %s is \"hmac\", which signs the cookie with a secret: set hmac_key (e.g. from a sensitive variable).", p.Addr())
	}
	if s.Hash != "hmac" && s.HMACKey != "" {
		v.warnf(a+".hmac_key", def, "hmac_key unused", "%s sets hmac_key, but its hash is %q; the key is used only with hash = \"hmac\".", p.Addr(), s.Hash)
	}
	if v.rng.has(a+".expires") && s.Expires < time.Second {
		v.errorf(a+".expires", def, "Sticky cookie expires too soon", "The sticky cookie of %s expires after %s; browsers count whole seconds, so it must be at least \"1s\" (leave expires out for a cookie that lasts the browser session).", p.Addr(), s.Expires)
	}
	if !strings.HasPrefix(s.Path, "/") {
		v.errorf(a+".path", def, "Invalid cookie path", "The sticky cookie path of %s is %q; it must start with \"/\".", p.Addr(), s.Path)
	}
	if strings.ContainsAny(s.Domain, " ;,") {
		v.errorf(a+".domain", def, "Invalid cookie domain", "The sticky cookie domain of %s is %q, which is not a domain name.", p.Addr(), s.Domain)
	}
	switch strings.ToLower(s.SameSite) {
	case "", "strict", "lax":
	case "none":
		if !s.Secure {
			v.warnf(a+".samesite", def, "SameSite=None without secure", "Browsers reject a SameSite=None cookie that is not secure, so the sticky cookie of %s would be dropped; set secure = true.", p.Addr())
		}
	default:
		v.errorf(a+".samesite", def, "Unknown samesite", "The samesite of %s's sticky cookie is %q; it must be \"strict\", \"lax\" or \"none\", or left out.", p.Addr(), s.SameSite)
	}
}

func (v *validation) healthCheck(p *Proxy) {
	a, h, def := p.Addr()+".health_check", &p.HealthCheck, p.DeclRange
	if !strings.HasPrefix(h.Path, "/") {
		v.errorf(a+".path", def, "Invalid health check path", "The health check path of %s is %q; it must start with \"/\".", p.Addr(), h.Path)
	}
	for _, d := range []struct {
		name string
		val  time.Duration
	}{{"interval", h.Interval}, {"timeout", h.Timeout}} {
		if d.val < time.Millisecond {
			v.errorf(a+"."+d.name, def, "Invalid health check "+d.name, "The health check %s of %s is %s; it must be at least 1ms, e.g. \"2s\".", d.name, p.Addr(), d.val)
		}
	}
	if h.Timeout > h.Interval && h.Interval > 0 {
		v.warnf(a+".timeout", def, "Health check timeout above interval", "The health check timeout of %s (%s) is longer than its interval (%s), so checks overlap.", p.Addr(), h.Timeout, h.Interval)
	}
	for _, n := range []struct {
		name string
		val  int
	}{{"fall", h.Fall}, {"rise", h.Rise}} {
		if n.val < 1 || n.val > 100 {
			v.errorf(a+"."+n.name, def, "Invalid health check "+n.name, "The health check %s of %s is %d; it must be from 1 to 100 checks.", n.name, p.Addr(), n.val)
		}
	}
}

// listener is one TCP port a resource binds on a machine.
type listener struct {
	machine string // host address: two host blocks may be one machine
	ip      net.IP
	port    int
	owner   string
	key     string
	def     hcl.Range
}

// listeners reports two listeners that would bind the same port on the
// same machine, including the host's own SSH port.
func (v *validation) listeners(cfg *Config) {
	var ls []listener
	add := func(h *Host, bind string, port int, owner, key string, def hcl.Range) {
		if h != nil {
			ls = append(ls, listener{machine: h.Address, ip: net.ParseIP(bind), port: port, owner: owner, key: key, def: def})
		}
	}
	for _, h := range cfg.Hosts {
		add(h, "0.0.0.0", h.Port, "the SSH server of "+h.Addr(), h.Addr()+".port", h.DeclRange)
	}
	for _, c := range cfg.Caches {
		if !c.External {
			add(c.Host, c.Listen, c.Port, c.Addr(), c.Addr()+".port", c.DeclRange)
		}
	}
	for _, a := range cfg.Apps {
		add(a.Host, a.Listen, a.Port, a.Addr(), a.Addr()+".port", a.DeclRange)
	}
	for _, p := range cfg.Proxies {
		add(p.Host, p.ListenAddr, p.Listen, p.Addr(), p.Addr()+".listen", p.DeclRange)
		if h, port, err := net.SplitHostPort(p.AdminListen); err == nil {
			n, _ := strconv.Atoi(port)
			add(p.Host, h, n, "the admin listener of "+p.Addr(), p.Addr()+".admin_listen", p.DeclRange)
		}
	}
	for i, l := range ls {
		for _, prev := range ls[:i] {
			if l.machine == prev.machine && l.port == prev.port && overlaps(l.ip, prev.ip) && !strings.HasPrefix(l.owner, "the SSH server") {
				v.errorf(l.key, l.def, "Port already in use",
					"Both %s and %s (%s) would listen on port %d of %s; give one of them another port.",
					l.owner, prev.owner, where(*v.rng.at(prev.key, prev.def)), l.port, l.machine)
				break
			}
		}
	}
}

// overlaps reports whether two bind addresses share a port space: they
// are equal, or either binds every address.
func overlaps(a, b net.IP) bool {
	return a == nil || b == nil || a.IsUnspecified() || b.IsUnspecified() || a.Equal(b)
}

// reachability reports references across hosts to listeners bound to a
// loopback address, which the other host can never connect to.
func (v *validation) reachability(cfg *Config) {
	loopbackElsewhere := func(bind string, from, to *Host) bool {
		ip := net.ParseIP(bind)
		return ip != nil && ip.IsLoopback() && from != nil && to != nil && from.Address != to.Address
	}
	for _, a := range cfg.Apps {
		for i, c := range a.Session.Nodes {
			if !c.External && loopbackElsewhere(c.Listen, a.Host, c.Host) {
				v.errorf(a.Addr()+".session.nodes["+strconv.Itoa(i)+"]", a.DeclRange, "Cache unreachable",
					"%s listens only on %s of %s, so %s on %s cannot reach it; bind an address the app's host can reach.", c.Addr(), c.Listen, c.Host.Addr(), a.Addr(), a.Host.Addr())
			}
		}
	}
	for _, p := range cfg.Proxies {
		for i, b := range p.Backends {
			if loopbackElsewhere(b.Listen, p.Host, b.Host) {
				v.errorf(p.Addr()+".backends["+strconv.Itoa(i)+"]", p.DeclRange, "Backend unreachable",
					"%s listens only on %s of %s, so %s on %s cannot reach it; bind an address the proxy's host can reach.", b.Addr(), b.Listen, b.Host.Addr(), p.Addr(), p.Host.Addr())
			}
		}
	}
}
