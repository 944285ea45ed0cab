package hclspec

import (
	"fmt"
	"sort"
	"strings"

	"github.com/hashicorp/hcl/v2"
)

// node is one thing evaluated in dependency order: a local value, a
// resource block (all its instances), or an output.
type node struct {
	addr  string
	decl  *decl          // nil for locals
	local *hcl.Attribute // set for locals
	refs  []ref
	bad   bool // a reference was invalid: skip evaluation
}

// ref is a reference found in a node's expressions, resolved to the
// block-level address it names.
type ref struct {
	target string // "var.x", "local.y", "host.h", ...
	tr     hcl.Traversal
}

// exprs returns every expression of the node, sorted by source position
// so diagnostics come out in reading order.
func (n *node) exprs() []hcl.Expression {
	if n.local != nil {
		return []hcl.Expression{n.local.Expr}
	}
	var out []hcl.Expression
	add := func(c *hcl.BodyContent) {
		if c == nil {
			return
		}
		for _, a := range c.Attributes {
			out = append(out, a.Expr)
		}
	}
	add(n.decl.content)
	for _, c := range n.decl.nested {
		add(c)
	}
	sort.Slice(out, func(i, j int) bool {
		a, b := out[i].Range(), out[j].Range()
		return a.Filename < b.Filename || a.Filename == b.Filename && a.Start.Byte < b.Start.Byte
	})
	return out
}

// resolveRefs finds and checks the references of n against m.
func (m *module) resolveRefs(n *node) hcl.Diagnostics {
	var diags hcl.Diagnostics
	forEach, count := false, false
	if n.decl != nil {
		_, forEach = n.decl.content.Attributes["for_each"]
		_, count = n.decl.content.Attributes["count"]
	}
	for _, e := range n.exprs() {
		for _, tr := range e.Variables() {
			target, ds := m.checkTraversal(tr, forEach, count)
			diags = append(diags, ds...)
			if target != "" {
				n.refs = append(n.refs, ref{target: target, tr: tr})
			}
		}
	}
	n.bad = diags.HasErrors()
	return diags
}

// checkTraversal validates one reference and returns its target address
// ("" for each, count and path, which are not nodes).
func (m *module) checkTraversal(tr hcl.Traversal, forEach, count bool) (string, hcl.Diagnostics) {
	root := tr.RootName()
	rng := tr.SourceRange().Ptr()
	attr, hasAttr := "", false
	if len(tr) > 1 {
		if a, ok := tr[1].(hcl.TraverseAttr); ok {
			attr, hasAttr = a.Name, true
		}
	}
	bad := func(summary, detail string, args ...any) (string, hcl.Diagnostics) {
		return "", hcl.Diagnostics{{Severity: hcl.DiagError, Summary: summary, Detail: fmt.Sprintf(detail, args...), Subject: rng}}
	}
	switch root {
	case "each":
		if !forEach {
			return bad("Reference to each outside for_each", "each.key and each.value exist only inside a block that sets for_each.")
		}
		if !hasAttr || (attr != "key" && attr != "value") {
			return bad("Invalid each reference", "Use each.key or each.value.")
		}
		return "", nil
	case "count":
		if !count {
			return bad("Reference to count outside a counted block", "count.index exists only inside a block that sets count.")
		}
		if !hasAttr || attr != "index" {
			return bad("Invalid count reference", "Use count.index, the number of the instance starting at 0.")
		}
		return "", nil
	case "path":
		if !hasAttr || attr != "module" {
			return bad("Invalid path reference", "The only path value is path.module, the configuration directory.")
		}
		return "", nil
	case "var", "local", "host", "cache", "app", "proxy":
	default:
		return bad("Unknown reference", "There is nothing named %q to refer to. References start with var, local, host, cache, app or proxy, e.g. host.server3.address.", root)
	}
	noun := map[string]string{"var": "input variable", "local": "local value"}[root]
	if noun == "" {
		noun = root
	}
	if !hasAttr {
		return bad("Invalid reference", "A reference to %s must name one, e.g. %s.NAME.", aKind(noun), root)
	}
	target := root + "." + attr
	if root == "local" {
		if _, ok := m.locals[attr]; ok {
			return target, nil
		}
	} else if d, ok := m.decls[target]; ok && d.kind == kindOf(root) {
		return target, nil
	}
	detail := fmt.Sprintf("No %s named %q is declared.", noun, attr)
	if s := suggest(attr, m.namesOf(root)); s != "" {
		detail = fmt.Sprintf("No %s named %q is declared. Did you mean %s.%s?", noun, attr, root, s)
	} else if other := m.kindsNamed(attr); len(other) > 0 {
		detail = fmt.Sprintf("No %s named %q is declared, but there is %s.%s: did you use the wrong kind of reference?", noun, attr, other[0], attr)
	}
	return bad("Reference to undeclared "+noun, "%s", detail)
}

// kindOf maps a reference root to its block type.
func kindOf(root string) string {
	if root == "var" {
		return "variable"
	}
	return root
}

// namesOf lists the declared names under a reference root.
func (m *module) namesOf(root string) []string {
	var out []string
	if root == "local" {
		for n := range m.locals {
			out = append(out, n)
		}
		sort.Strings(out)
		return out
	}
	for _, d := range m.order {
		if d.kind == kindOf(root) {
			out = append(out, d.name)
		}
	}
	return out
}

// kindsNamed lists the reference roots that have a block called name.
func (m *module) kindsNamed(name string) []string {
	var out []string
	for _, root := range []string{"host", "cache", "app", "proxy"} {
		if _, ok := m.decls[root+"."+name]; ok {
			out = append(out, root)
		}
	}
	return out
}

// suggest returns the candidate closest to given when it is close enough
// to be a likely typo.
func suggest(given string, candidates []string) string {
	best, bestDist := "", 3
	for _, c := range candidates {
		if d := editDistance(strings.ToLower(given), strings.ToLower(c)); d < bestDist {
			best, bestDist = c, d
		}
	}
	return best
}

// editDistance is the Levenshtein distance between a and b.
func editDistance(a, b string) int {
	prev := make([]int, len(b)+1)
	cur := make([]int, len(b)+1)
	for j := range prev {
		prev[j] = j
	}
	for i := 1; i <= len(a); i++ {
		cur[0] = i
		for j := 1; j <= len(b); j++ {
			cost := 1
			if a[i-1] == b[j-1] {
				cost = 0
			}
			cur[j] = min(prev[j]+1, cur[j-1]+1, prev[j-1]+cost)
		}
		prev, cur = cur, prev
	}
	return prev[len(b)]
}
