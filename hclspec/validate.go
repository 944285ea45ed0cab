package hclspec

import (
	"fmt"
	"net"
	"strconv"
	"strings"

	"github.com/hashicorp/hcl/v2"
	"golang.org/x/crypto/ssh"
)

// validation collects diagnostics about a decoded, defaulted config. Each
// check points at the attribute that is wrong (or the block, when the
// mistake is a missing attribute).
type validation struct {
	rng   ranges
	diags hcl.Diagnostics
}

// validate checks cfg as a whole: values, cross references, listeners.
func validate(cfg *Config, rng ranges) hcl.Diagnostics {
	v := &validation{rng: rng}
	for _, h := range cfg.Hosts {
		v.host(h)
	}
	for _, c := range cfg.Caches {
		v.cache(c)
	}
	for _, a := range cfg.Apps {
		v.app(a)
	}
	for _, p := range cfg.Proxies {
		v.proxy(p)
	}
	v.sameHostAddress(cfg.Hosts)
	v.listeners(cfg)
	v.uniqueNames(cfg)
	v.reachability(cfg)
	return v.diags
}

func (v *validation) add(sev hcl.DiagnosticSeverity, subject *hcl.Range, summary, format string, args ...any) {
	v.diags = append(v.diags, &hcl.Diagnostic{Severity: sev, Summary: summary,
		Detail: fmt.Sprintf(format, args...), Subject: subject})
}

func (v *validation) errorf(key string, block hcl.Range, summary, format string, args ...any) {
	v.add(hcl.DiagError, v.rng.at(key, block), summary, format, args...)
}

func (v *validation) warnf(key string, block hcl.Range, summary, format string, args ...any) {
	v.add(hcl.DiagWarning, v.rng.at(key, block), summary, format, args...)
}

func (v *validation) port(key string, block hcl.Range, owner string, port int) {
	if port < 1 || port > 65535 {
		v.errorf(key, block, "Port out of range", "The %s of %s is %d; a TCP port is a number from 1 to 65535.", lastPart(key), owner, port)
	}
}

// lastPart is the attribute name of a ranges key.
func lastPart(key string) string { return key[strings.LastIndex(key, ".")+1:] }

func (v *validation) oneOf(key string, block hcl.Range, owner, got string, allowed ...string) {
	for _, a := range allowed {
		if got == a {
			return
		}
	}
	v.errorf(key, block, "Unknown "+lastPart(key), "The %s of %s is %q; it must be %s.", lastPart(key), owner, got, quoteList(allowed))
}

func quoteList(xs []string) string {
	q := make([]string, len(xs))
	for i, x := range xs {
		q[i] = strconv.Quote(x)
	}
	if len(q) == 1 {
		return q[0]
	}
	return strings.Join(q[:len(q)-1], ", ") + " or " + q[len(q)-1]
}

func (v *validation) host(h *Host) {
	a, def := h.Addr(), h.DeclRange
	if !validHostname(h.Address) {
		v.errorf(a+".address", def, "Invalid host address", "The address of %s is %q, which is neither an IP address nor a host name.", a, h.Address)
	}
	v.port(a+".port", def, a, h.Port)
	if h.User == "" {
		v.errorf(a+".user", def, "Empty user", "The user of %s is empty; leave it out to log in as root, or name the SSH user.", a)
	}
	if h.HostKey != "" {
		if _, _, _, _, err := ssh.ParseAuthorizedKey([]byte(h.HostKey)); err != nil {
			v.errorf(a+".host_key", def, "Invalid host_key", "The host_key of %s must be a public key in authorized_keys format, e.g. \"ssh-ed25519 AAAA...\" (as in /etc/ssh/ssh_host_ed25519_key.pub).", a)
		}
	}
}

// validHostname accepts IP addresses and DNS names.
func validHostname(s string) bool {
	if net.ParseIP(s) != nil {
		return true
	}
	if s == "" || len(s) > 253 {
		return false
	}
	for _, label := range strings.Split(strings.TrimSuffix(s, "."), ".") {
		if label == "" || len(label) > 63 || label[0] == '-' || label[len(label)-1] == '-' {
			return false
		}
		for _, r := range label {
			if !(r == '-' || r >= '0' && r <= '9' || r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z') {
				return false
			}
		}
	}
	return true
}

// validBindAddress accepts the IP addresses a listener can bind.
func (v *validation) bindAddress(key string, block hcl.Range, owner, addr string) bool {
	if net.ParseIP(addr) == nil {
		v.errorf(key, block, "Invalid listen address", "The %s of %s is %q; it must be an IP address of the host to bind, e.g. \"0.0.0.0\" for all of them.", lastPart(key), owner, addr)
		return false
	}
	return true
}

func (v *validation) sameHostAddress(hosts []*Host) {
	seen := map[string]*Host{}
	for _, h := range hosts {
		k := joinHostPort(h.Address, h.Port)
		if prev, ok := seen[k]; ok {
			v.warnf(h.Addr()+".address", h.DeclRange, "Two hosts with one address",
				"%s and %s both reach %s over SSH; they are the same machine, so their listeners are checked together.", prev.Addr(), h.Addr(), k)
			continue
		}
		seen[k] = h
	}
}

// uniqueNames reports two resources of one kind whose names become the
// same file or unit name (web["a b"] and web["a-b"]), and two caches with
// the same session node id (node-1 and node_1).
func (v *validation) uniqueNames(cfg *Config) {
	type named struct {
		space, value, addr string
		def                hcl.Range
	}
	var all []named
	for _, h := range cfg.Hosts {
		all = append(all, named{"host", h.Slug(), h.Addr(), h.DeclRange})
	}
	for _, c := range cfg.Caches {
		all = append(all, named{"cache", c.Slug(), c.Addr(), c.DeclRange}, named{"node id", c.NodeID(), c.Addr(), c.DeclRange})
	}
	for _, a := range cfg.Apps {
		all = append(all, named{"app", a.Slug(), a.Addr(), a.DeclRange})
	}
	for _, p := range cfg.Proxies {
		all = append(all, named{"proxy", p.Slug(), p.Addr(), p.DeclRange})
	}
	seen := map[[2]string]string{}
	for _, n := range all {
		k := [2]string{n.space, n.value}
		if prev, ok := seen[k]; ok && prev != n.addr {
			v.add(hcl.DiagError, n.def.Ptr(), "Names too similar",
				"%s and %s both become %q on the hosts (in file, unit or session node names); rename one of them.", prev, n.addr, n.value)
			continue
		}
		seen[k] = n.addr
	}
}
