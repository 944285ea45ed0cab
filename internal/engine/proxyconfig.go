package engine

import (
	"github.com/stickyform/stickyform/agents/proxy"
	"github.com/stickyform/stickyform/hclspec"
)

func proxyConfig(p *hclspec.Proxy) proxy.Config {
	backends := make([]proxy.Backend, len(p.Backends))
	for i, b := range p.Backends {
		w := 1
		if i < len(p.Weights) && p.Weights[i] > 0 {
			w = p.Weights[i]
		}
		backends[i] = proxy.Backend{URL: "http://" + b.Endpoint(), Weight: w}
	}
	s, hc := p.Sticky, p.HealthCheck
	return proxy.Config{Name: p.Name, Listen: joinPort(p.ListenAddr, p.Listen), AdminListen: p.AdminListen,
		Backends: backends, Balance: p.Balance, AccessLog: p.AccessLog,
		Sticky: proxy.Sticky{Name: s.Name, Hash: s.Hash, HMACKey: s.HMACKey, Expires: proxy.Duration(s.Expires),
			Domain: s.Domain, Path: s.Path, Secure: s.Secure, HTTPOnly: s.HTTPOnly, SameSite: s.SameSite, NoFallback: s.NoFallback},
		HealthCheck: proxy.HealthCheck{Path: hc.Path, Interval: proxy.Duration(hc.Interval), Timeout: proxy.Duration(hc.Timeout),
			Fall: hc.Fall, Rise: hc.Rise}}
}
