package engine

import (
	"fmt"
	"sort"
)

// targetPlan keeps only the changes of targets and of what they depend
// on (-target), like Terraform: the rest of the plan is left for later.
func targetPlan(p *Plan, targets []string) error {
	byAddr := map[string]*Change{}
	for _, c := range p.Changes {
		byAddr[c.Addr] = c
	}
	keep := map[string]bool{}
	var walk func(addr string)
	walk = func(addr string) {
		if keep[addr] {
			return
		}
		keep[addr] = true
		c := byAddr[addr]
		if c == nil {
			return
		}
		if c.After != nil {
			for _, d := range c.After.Dependencies {
				walk(d)
			}
		}
	}
	for _, t := range targets {
		if byAddr[t] == nil {
			return fmt.Errorf("-target %s: no such resource in the configuration or the state", t)
		}
		walk(t)
	}
	out := p.Changes[:0]
	for _, c := range p.Changes {
		if keep[c.Addr] {
			out = append(out, c)
		} else if c.Action != NoOp {
			p.Partial = true
		}
	}
	p.Changes = out
	p.Targets = append([]string(nil), targets...)
	sort.Strings(p.Targets)
	return nil
}
