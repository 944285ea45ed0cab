package hclspec

import (
	"github.com/hashicorp/hcl/v2"
	"github.com/zclconf/go-cty/cty"
)

// The decode functions evaluate one resource instance's attributes into
// its model. They neither fill defaults nor validate: see defaults.go and
// validate.go.

func decodeHost(d *decoder, name string, def hcl.Range) *Host {
	h := &Host{Name: name, DeclRange: def}
	d.str("address", &h.Address)
	d.integer("port", &h.Port)
	d.str("user", &h.User)
	d.str("identity_file", &h.IdentityFile)
	d.str("known_hosts", &h.KnownHosts)
	d.str("host_key", &h.HostKey)
	return h
}

func decodeCache(d *decoder, name string, def hcl.Range) *Cache {
	c := &Cache{Name: name, DeclRange: def}
	if h, ok := d.single("host", "host").(*Host); ok {
		c.Host = h
	}
	d.str("listen", &c.Listen)
	d.integer("port", &c.Port)
	d.integer("memory_mb", &c.MemoryMB)
	d.str("engine", &c.Engine)
	d.integer("max_item_size", &c.MaxItemSize)
	d.integer("max_conns", &c.MaxConns)
	d.boolean("external", &c.External)
	d.str("address", &c.Address)
	return c
}

func decodeApp(d *decoder, name string, def hcl.Range, session *hcl.BodyContent) *App {
	a := &App{Name: name, DeclRange: def}
	if h, ok := d.single("host", "host").(*Host); ok {
		a.Host = h
	}
	d.str("listen", &a.Listen)
	d.integer("port", &a.Port)
	d.str("static", &a.Static)
	d.str("upstream", &a.Upstream)
	s := d.sub("session", session)
	s.str("cookie", &a.Session.Cookie)
	s.duration("timeout", &a.Session.Timeout)
	s.str("mode", &a.Session.Mode)
	s.str("locking", &a.Session.Locking)
	nodes, _ := s.list("nodes", "cache")
	a.Session.Nodes = caches(nodes)
	if fo, set := s.list("failover_nodes", "cache"); set {
		a.Session.FailoverNodes = caches(fo) // non-nil even when empty: "none" on purpose
	}
	d.done(s)
	return a
}

func caches(xs []any) []*Cache {
	out := make([]*Cache, 0, len(xs))
	for _, x := range xs {
		out = append(out, x.(*Cache))
	}
	return out
}

func decodeProxy(d *decoder, name string, def hcl.Range, nested map[string]*hcl.BodyContent) *Proxy {
	p := &Proxy{Name: name, DeclRange: def}
	if h, ok := d.single("host", "host").(*Host); ok {
		p.Host = h
	}
	d.integer("listen", &p.Listen)
	d.str("listen_address", &p.ListenAddr)
	backends, _ := d.list("backends", "app")
	for _, b := range backends {
		p.Backends = append(p.Backends, b.(*App))
	}
	decodeWeights(d, p)
	d.str("balance", &p.Balance)
	d.str("admin_listen", &p.AdminListen)
	d.str("access_log", &p.AccessLog)
	s := d.sub("sticky", nested["sticky"])
	s.str("name", &p.Sticky.Name)
	s.str("hash", &p.Sticky.Hash)
	s.str("hmac_key", &p.Sticky.HMACKey)
	s.duration("expires", &p.Sticky.Expires)
	s.str("domain", &p.Sticky.Domain)
	s.str("path", &p.Sticky.Path)
	s.boolean("secure", &p.Sticky.Secure)
	s.boolean("httponly", &p.Sticky.HTTPOnly)
	s.str("samesite", &p.Sticky.SameSite)
	s.boolean("no_fallback", &p.Sticky.NoFallback)
	d.done(s)
	hc := d.sub("health_check", nested["health_check"])
	hc.str("path", &p.HealthCheck.Path)
	hc.duration("interval", &p.HealthCheck.Interval)
	hc.duration("timeout", &p.HealthCheck.Timeout)
	hc.integer("fall", &p.HealthCheck.Fall)
	hc.integer("rise", &p.HealthCheck.Rise)
	d.done(hc)
	return p
}

// decodeWeights reads weights = { APP_NAME = N, ... } into p.Weights,
// parallel to p.Backends; backends not named keep weight 0 until defaults.
func decodeWeights(d *decoder, p *Proxy) {
	v, a, ok := d.value("weights", cty.Map(cty.Number))
	p.Weights = make([]int, len(p.Backends))
	if !ok {
		return
	}
	for it := v.ElementIterator(); it.Next(); {
		k, w := it.Element()
		if w.IsNull() {
			continue // null means unset: the default weight
		}
		bf := w.AsBigFloat()
		n, _ := bf.Int64()
		idx := -1
		for i, b := range p.Backends {
			if b.Name == k.AsString() {
				idx = i
			}
		}
		switch {
		case idx < 0:
			d.errorf(a.Expr.Range(), "Weight for an unknown backend", "The weights of proxy.%s name %q, which is not one of its backends; use the names of the backend apps, e.g. { tomcat1 = 2 }.", p.Name, k.AsString())
		case !bf.IsInt() || n < 1 || n > 1000:
			d.errorf(a.Expr.Range(), "Invalid weight", "The weight of backend %s in proxy.%s must be a whole number from 1 to 1000; got %s.", k.AsString(), p.Name, bf.Text('g', 10))
		default:
			p.Weights[idx] = int(n)
		}
	}
}
