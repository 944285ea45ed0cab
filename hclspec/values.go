package hclspec

import (
	"strings"

	"github.com/zclconf/go-cty/cty"
)

// The value functions give each resource instance the object that
// expressions see, e.g. host.server2.address or app.tomcat1.endpoint.
// They run after defaults, so references see the final values.

func hostValue(h *Host) cty.Value {
	return cty.ObjectVal(map[string]cty.Value{
		"name":    cty.StringVal(h.Name),
		"address": cty.StringVal(h.Address),
		"port":    cty.NumberIntVal(int64(h.Port)),
		"user":    cty.StringVal(h.User),
	})
}

func optHost(h *Host) cty.Value {
	if h == nil {
		return cty.NullVal(cty.DynamicPseudoType)
	}
	return hostValue(h)
}

func cacheValue(c *Cache) cty.Value {
	return cty.ObjectVal(map[string]cty.Value{
		"name":      cty.StringVal(c.Name),
		"address":   cty.StringVal(c.Address),
		"port":      cty.NumberIntVal(int64(c.Port)),
		"endpoint":  cty.StringVal(c.Endpoint()),
		"listen":    cty.StringVal(c.Listen),
		"memory_mb": cty.NumberIntVal(int64(c.MemoryMB)),
		"engine":    cty.StringVal(c.Engine),
		"external":  cty.BoolVal(c.External),
		"host":      optHost(c.Host),
	})
}

func appValue(a *App) cty.Value {
	addr := ""
	if a.Host != nil {
		addr = a.Host.Address
	}
	ep := joinHostPort(addr, a.Port)
	return cty.ObjectVal(map[string]cty.Value{
		"name":     cty.StringVal(a.Name),
		"address":  cty.StringVal(addr),
		"port":     cty.NumberIntVal(int64(a.Port)),
		"listen":   cty.StringVal(a.Listen),
		"endpoint": cty.StringVal(ep),
		"url":      cty.StringVal("http://" + ep + "/"),
		"host":     optHost(a.Host),
	})
}

func proxyValue(p *Proxy) cty.Value {
	addr := ""
	if p.Host != nil {
		addr = p.Host.Address
	}
	// http://HOST/ for port 80, as an operator would type it.
	url := "http://" + strings.TrimSuffix(joinHostPort(addr, p.Listen), ":80") + "/"
	return cty.ObjectVal(map[string]cty.Value{
		"name":    cty.StringVal(p.Name),
		"address": cty.StringVal(addr),
		"port":    cty.NumberIntVal(int64(p.Listen)),
		"url":     cty.StringVal(url),
		"host":    optHost(p.Host),
	})
}
