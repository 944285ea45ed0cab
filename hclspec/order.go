package hclspec

import (
	"fmt"
	"sort"
	"strings"

	"github.com/hashicorp/hcl/v2"
)

// nodes builds the evaluation nodes of m (locals, resources, outputs) and
// checks their references.
func (m *module) nodes() ([]*node, hcl.Diagnostics) {
	var out []*node
	var diags hcl.Diagnostics
	for _, name := range sortedAttrNames(m.locals) {
		out = append(out, &node{addr: "local." + name, local: m.locals[name]})
	}
	for _, d := range m.order {
		if d.kind != "variable" {
			out = append(out, &node{addr: d.addr(), decl: d})
		}
	}
	for _, n := range out {
		diags = append(diags, m.resolveRefs(n)...)
		diags = append(diags, m.checkRefKinds(n)...)
	}
	return out, diags
}

// evalOrder sorts nodes so each comes after what it refers to. Nodes on a
// cycle are reported and marked bad; they still appear in the order so
// that their dependents evaluate (to unknown values) without extra noise.
func evalOrder(nodes []*node) ([]*node, hcl.Diagnostics) {
	byAddr := map[string]*node{}
	for _, n := range nodes {
		byAddr[n.addr] = n
	}
	const (
		unseen = iota
		active
		done
	)
	state := map[string]int{}
	var order []*node
	var diags hcl.Diagnostics
	var stack []*node
	var visit func(n *node)
	visit = func(n *node) {
		state[n.addr] = active
		stack = append(stack, n)
		for _, r := range n.refs {
			dep := byAddr[r.target]
			if dep == nil { // variables: already evaluated
				continue
			}
			switch state[dep.addr] {
			case unseen:
				visit(dep)
			case active:
				diags = append(diags, cycleDiag(stack, dep, r))
			}
		}
		stack = stack[:len(stack)-1]
		state[n.addr] = done
		order = append(order, n)
	}
	for _, n := range nodes {
		if state[n.addr] == unseen {
			visit(n)
		}
	}
	return order, diags
}

// cycleDiag reports the cycle that closes when the top of stack refers to
// dep through r, and marks its members bad.
func cycleDiag(stack []*node, dep *node, r ref) *hcl.Diagnostic {
	start := 0
	for i, n := range stack {
		if n == dep {
			start = i
		}
	}
	var names []string
	for _, n := range stack[start:] {
		n.bad = true
		names = append(names, n.addr)
	}
	names = append(names, dep.addr)
	if len(names) == 2 {
		return &hcl.Diagnostic{Severity: hcl.DiagError, Summary: "Self-referencing block",
			Detail:  fmt.Sprintf("%s refers to itself, so its value can never be computed.", dep.addr),
			Subject: r.tr.SourceRange().Ptr()}
	}
	return &hcl.Diagnostic{Severity: hcl.DiagError, Summary: "Cycle in references",
		Detail:  fmt.Sprintf("These refer to each other in a circle, so none can be evaluated first: %s.", strings.Join(names, " → ")),
		Subject: r.tr.SourceRange().Ptr()}
}

// sortedKeys returns the keys of a set in order.
func sortedKeys(set map[string]bool) []string {
	out := make([]string, 0, len(set))
	for k := range set {
		out = append(out, k)
	}
	sort.Strings(out)
	return out
}
