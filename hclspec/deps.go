package hclspec

import (
	"fmt"
	"strings"

	"github.com/hashicorp/hcl/v2"
	"github.com/zclconf/go-cty/cty"
)

// dependencies computes, for every local, output and resource instance,
// the addresses it depends on. References name blocks; for repeated
// blocks they are narrowed to instances by a literal index
// (app.web["s7"]) or by the instances the decoded model points at
// (host = host.h[each.key] depends only on the host it picked).
func (ev *evaluator) dependencies(nodes []*node) map[string][]string {
	ev.pointers = modelPointers(ev.cfg)
	out := map[string][]string{}
	for _, n := range nodes {
		sources := ev.instances[n.addr]
		if n.decl == nil || n.decl.kind == "output" {
			sources = []string{n.addr}
		}
		for _, src := range sources {
			set := map[string]bool{}
			for _, r := range n.refs {
				for _, t := range ev.targets(src, r) {
					if t != src {
						set[t] = true
					}
				}
			}
			for _, t := range ev.pointers[src] {
				set[t] = true
			}
			out[src] = sortedKeys(set)
		}
	}
	for _, v := range ev.cfg.Variables {
		out["var."+v.Name] = []string{}
	}
	return out
}

// targets maps one reference made by instance src to instance addresses.
func (ev *evaluator) targets(src string, r ref) []string {
	inst, isResource := ev.instances[r.target]
	if !isResource {
		return []string{r.target}
	}
	if len(inst) == 1 && inst[0] == r.target {
		return inst
	}
	if len(r.tr) > 2 {
		if ix, ok := r.tr[2].(hcl.TraverseIndex); ok {
			if name := indexedName(r.target, ix.Key); name != "" {
				return []string{name}
			}
		}
	}
	var picked []string
	for _, p := range ev.pointers[src] {
		if strings.HasPrefix(p, r.target+"[") {
			picked = append(picked, p)
		}
	}
	if len(picked) > 0 {
		return picked
	}
	return inst
}

// indexedName is the instance address for a literal index key.
func indexedName(block string, key cty.Value) string {
	if !key.IsKnown() || key.IsNull() {
		return ""
	}
	switch key.Type() {
	case cty.String:
		return fmt.Sprintf("%s[%q]", block, key.AsString())
	case cty.Number:
		return fmt.Sprintf("%s[%s]", block, key.AsBigFloat().Text('f', 0))
	}
	return ""
}

// modelPointers lists the resource instances each instance points at.
func modelPointers(cfg *Config) map[string][]string {
	out := map[string][]string{}
	addHost := func(src string, h *Host) {
		if h != nil {
			out[src] = append(out[src], h.Addr())
		}
	}
	for _, c := range cfg.Caches {
		addHost(c.Addr(), c.Host)
	}
	for _, a := range cfg.Apps {
		addHost(a.Addr(), a.Host)
		for _, c := range append(append([]*Cache{}, a.Session.Nodes...), a.Session.FailoverNodes...) {
			out[a.Addr()] = append(out[a.Addr()], c.Addr())
		}
	}
	for _, p := range cfg.Proxies {
		addHost(p.Addr(), p.Host)
		for _, b := range p.Backends {
			out[p.Addr()] = append(out[p.Addr()], b.Addr())
		}
	}
	return out
}
