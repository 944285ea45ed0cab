package hclspec

import (
	"net"
	"path"
	"strconv"
	"strings"

	"github.com/hashicorp/hcl/v2"
)

func (v *validation) cache(c *Cache) {
	a, def := c.Addr(), c.DeclRange
	if c.External {
		v.externalCache(c)
		return
	}
	if c.Host == nil {
		v.errorf(a+".host", def, "Missing host", "The cache %s needs host = host.NAME to say where it runs, or external = true with an address for a cache stickyform does not manage.", c.Name)
		return
	}
	if v.rng.has(a + ".address") {
		v.errorf(a+".address", def, "Address of a managed cache", "The address of %s comes from its host; address is only for external caches (external = true). Use listen to choose the address it binds.", a)
	}
	v.port(a+".port", def, a, c.Port)
	if c.MemoryMB < 1 || c.MemoryMB > 1<<20 {
		v.errorf(a+".memory_mb", def, "Invalid memory_mb", "The memory_mb of %s is %d; it must be at least 1 (megabyte) and at most 1048576.", a, c.MemoryMB)
	}
	v.oneOf(a+".engine", def, a, c.Engine, "builtin", "memcached")
	if c.MaxItemSize < 1024 || c.MaxItemSize > 128<<20 {
		v.errorf(a+".max_item_size", def, "Invalid max_item_size", "The max_item_size of %s is %d; it must be between 1024 bytes and 128 MiB.", a, c.MaxItemSize)
	} else if c.MemoryMB > 0 && c.MaxItemSize > c.MemoryMB<<20 {
		v.errorf(a+".max_item_size", def, "Item size above memory", "The max_item_size of %s (%d bytes) is larger than its memory (%d MB), so the largest items could never be stored.", a, c.MaxItemSize, c.MemoryMB)
	}
	if c.MaxConns < 1 {
		v.errorf(a+".max_conns", def, "Invalid max_conns", "The max_conns of %s is %d; it must be at least 1.", a, c.MaxConns)
	}
	if !v.bindAddress(a+".listen", def, a, c.Listen) || !validHostname(c.Host.Address) {
		return
	}
	key := a + ".listen"
	if !v.rng.has(key) {
		key = a + ".host" // the listen address came from the host
	}
	ip := net.ParseIP(c.Listen)
	switch {
	case ip.IsUnspecified():
		v.warnf(key, def, "Cache listens on every interface", "%s binds %s, so anyone who can reach the host can read and change every session; memcached has no authentication. Bind a private address instead.", a, c.Listen)
	case !ip.IsPrivate() && !ip.IsLoopback() && !ip.IsLinkLocalUnicast():
		v.warnf(key, def, "Cache on a public address", "%s listens on %s, which is not a private address; memcached has no authentication, so anyone on the internet could read and change sessions. Use a private network.", a, c.Listen)
	}
}

func (v *validation) externalCache(c *Cache) {
	a, def := c.Addr(), c.DeclRange
	if c.Host != nil {
		v.errorf(a+".host", def, "Host of an external cache", "The cache %s is external (not managed by stickyform), so it cannot run on a host; remove host, or remove external = true.", c.Name)
	}
	if c.Address == "" {
		v.errorf(a+".external", def, "Missing address", "The external cache %s needs address = \"...\", the IP address or host name apps connect to.", c.Name)
	} else if !validHostname(c.Address) {
		v.errorf(a+".address", def, "Invalid address", "The address of %s is %q, which is neither an IP address nor a host name.", a, c.Address)
	}
	v.port(a+".port", def, a, c.Port)
	for _, attr := range []string{"listen", "memory_mb", "engine", "max_item_size", "max_conns"} {
		if v.rng.has(a + "." + attr) {
			v.warnf(a+"."+attr, def, "Setting ignored for an external cache", "%s is external: stickyform never deploys it, so %s has no effect.", a, attr)
		}
	}
}

func (v *validation) app(ap *App) {
	a, def := ap.Addr(), ap.DeclRange
	if ap.Host == nil {
		return // the schema already reported the missing host
	}
	v.port(a+".port", def, a, ap.Port)
	v.bindAddress(a+".listen", def, a, ap.Listen)
	if ap.Static != "" && !path.IsAbs(ap.Static) {
		v.errorf(a+".static", def, "Relative static path", "The static docroot of %s is %q; it must be an absolute path on the host, e.g. \"/srv/www\".", a, ap.Static)
	}
	if ap.Upstream != "" {
		if h, p, err := net.SplitHostPort(ap.Upstream); err != nil || h == "" || !validPort(p) {
			v.errorf(a+".upstream", def, "Invalid upstream", "The upstream of %s is %q; it must be HOST:PORT of your app on the host, e.g. \"127.0.0.1:9000\".", a, ap.Upstream)
		}
	}
	v.session(ap)
}

func validPort(s string) bool {
	n, err := strconv.Atoi(s)
	return err == nil && n >= 1 && n <= 65535
}

func (v *validation) session(ap *App) {
	a, s, def := ap.Addr()+".session", &ap.Session, ap.DeclRange
	if !validCookieName(s.Cookie) {
		v.errorf(a+".cookie", def, "Invalid cookie name", "The session cookie of %s is %q; a cookie name is one or more letters, digits and !#$%%&'*+-.^_`|~.", ap.Addr(), s.Cookie)
	}
	if s.Timeout <= 0 {
		v.errorf(a+".timeout", def, "Invalid session timeout", "The session timeout of %s is %s; it must be positive, e.g. \"30m\".", ap.Addr(), s.Timeout)
	}
	v.oneOf(a+".mode", def, "the session block of "+ap.Addr(), s.Mode, "sticky", "non-sticky")
	v.oneOf(a+".locking", def, "the session block of "+ap.Addr(), s.Locking, "auto", "all", "none")
	if len(s.Nodes) == 0 {
		v.errorf(a+".nodes", def, "No session nodes", "The app %s must store sessions somewhere: list at least one cache in nodes, e.g. nodes = [cache.n1, cache.n2].", ap.Name)
		return
	}
	v.duplicates(a+".nodes", def, s.Nodes)
	if v.rng.has(a + ".failover_nodes") {
		v.failover(ap)
	}
	if s.Mode == "non-sticky" && len(s.Nodes) < 2 {
		v.warnf(a+".nodes", def, "Non-sticky sessions without a backup", "In non-sticky mode %s keeps each session on a primary and a backup node, but it has only one node; a session is lost when that node fails.", ap.Addr())
	}
}

func (v *validation) failover(ap *App) {
	a, s, def := ap.Addr()+".session", &ap.Session, ap.DeclRange
	v.duplicates(a+".failover_nodes", def, s.FailoverNodes)
	in := map[*Cache]bool{}
	for _, n := range s.Nodes {
		in[n] = true
	}
	for i, f := range s.FailoverNodes {
		if !in[f] {
			v.errorf(a+".failover_nodes["+strconv.Itoa(i)+"]", def, "Failover node not in nodes", "%s is among the failover_nodes of %s but not among its nodes; failover nodes are a subset of nodes.", f.Addr(), ap.Addr())
		}
	}
	distinct := map[*Cache]bool{}
	for _, f := range s.FailoverNodes {
		if in[f] {
			distinct[f] = true
		}
	}
	if len(distinct) > 0 && len(distinct) == len(in) {
		v.errorf(a+".failover_nodes", def, "Every node is a failover node", "All nodes of %s are failover nodes, which leaves none to store sessions in normally; keep at least one node out of failover_nodes (usually the cache on another host).", ap.Addr())
	}
	if s.Mode == "non-sticky" && len(s.FailoverNodes) > 0 {
		v.warnf(a+".failover_nodes", def, "Failover nodes unused in non-sticky mode", "%s runs in non-sticky mode, where failover_nodes are not used (as in memcached-session-manager).", ap.Addr())
	}
}

// duplicates reports resources listed twice in one reference list.
func duplicates[T interface{ Addr() string }](v *validation, key string, def hcl.Range, list []T) {
	seen := map[string]bool{}
	for i, x := range list {
		if seen[x.Addr()] {
			v.errorf(key+"["+strconv.Itoa(i)+"]", def, "Duplicate "+lastPart(key)+" element", "%s appears more than once in %s.", x.Addr(), strings.TrimSuffix(key, "."+lastPart(key))+"."+lastPart(key))
		}
		seen[x.Addr()] = true
	}
}

func (v *validation) duplicates(key string, def hcl.Range, list []*Cache) {
	duplicates(v, key, def, list)
}

// validCookieName checks the RFC 6265 token characters.
func validCookieName(s string) bool {
	if s == "" {
		return false
	}
	for _, r := range s {
		if r <= ' ' || r >= 0x7f || strings.ContainsRune("()<>@,;:\\\"/[]?={}", r) {
			return false
		}
	}
	return true
}
