package hclspec

import (
	"fmt"

	"github.com/hashicorp/hcl/v2"
)

type refAttr struct{ nested, name, kind string }

// refAttrs lists the attributes of a block kind that must refer to a
// resource of one kind (nested "" = the block's own body).
func refAttrs(kind string) []refAttr {
	switch kind {
	case "cache":
		return []refAttr{{"", "host", "host"}}
	case "app":
		return []refAttr{{"", "host", "host"}, {"session", "nodes", "cache"}, {"session", "failover_nodes", "cache"}}
	case "proxy":
		return []refAttr{{"", "host", "host"}, {"", "backends", "app"}}
	}
	return nil
}

// checkRefKinds reports a plain reference of the wrong kind (host =
// app.tomcat1) before evaluation. Found only after evaluation, such a
// mistake would first close a cycle through the referenced block (apps
// refer to the caches that would then refer to them) and be reported as
// "Cycle in references", which hides what is really wrong. The wrong
// edge is dropped and the node marked bad so the decoder does not repeat it.
func (m *module) checkRefKinds(n *node) hcl.Diagnostics {
	if n.decl == nil {
		return nil
	}
	var diags hcl.Diagnostics
	for _, ra := range refAttrs(n.decl.kind) {
		body := n.decl.content
		if ra.nested != "" {
			body = n.decl.nested[ra.nested]
		}
		if body == nil {
			continue
		}
		a, ok := body.Attributes[ra.name]
		if !ok {
			continue
		}
		elems, ds := hcl.ExprList(a.Expr)
		if ds.HasErrors() {
			elems = []hcl.Expression{a.Expr}
		}
		for _, e := range elems {
			tr, ds := hcl.AbsTraversalForExpr(e)
			root := ""
			if !ds.HasErrors() {
				root = tr.RootName()
			}
			switch root {
			case "host", "cache", "app", "proxy":
			default:
				continue
			}
			if root == ra.kind {
				continue
			}
			if n.dropRefsIn(e.Range()) { // else undeclared, and already reported
				diags = append(diags, wrongKindDiag(n, ra, root, e.Range()))
			}
		}
	}
	if diags.HasErrors() {
		n.bad = true
	}
	return diags
}

// wrongKindDiag words the mistake as the decoder would have.
func wrongKindDiag(n *node, ra refAttr, got string, rng hcl.Range) *hcl.Diagnostic {
	attr, want, owner := ra.name, ra.kind, n.addr
	if ra.nested != "" {
		owner = "the " + ra.nested + " block of " + n.addr
	}
	if ra.kind != "host" { // the list attributes
		return &hcl.Diagnostic{Severity: hcl.DiagError, Summary: fmt.Sprintf("Invalid %s element", attr),
			Detail: fmt.Sprintf("Each element of %s in %s must refer to %s such as %s, but this refers to %s.",
				attr, owner, aKind(want), exampleRef(want), aKind(got)),
			Subject: rng.Ptr()}
	}
	return &hcl.Diagnostic{Severity: hcl.DiagError, Summary: fmt.Sprintf("Invalid %s reference", attr),
		Detail: fmt.Sprintf("The %s attribute of %s must refer to %s such as %s, but this refers to %s.",
			attr, owner, aKind(want), exampleRef(want), aKind(got)),
		Subject: rng.Ptr()}
}

// dropRefsIn removes the references that lie within rng and reports
// whether there were any.
func (n *node) dropRefsIn(rng hcl.Range) bool {
	kept := n.refs[:0]
	for _, r := range n.refs {
		sr := r.tr.SourceRange()
		if sr.Filename == rng.Filename && sr.Start.Byte >= rng.Start.Byte && sr.End.Byte <= rng.End.Byte {
			continue
		}
		kept = append(kept, r)
	}
	dropped := len(kept) < len(n.refs)
	n.refs = kept
	return dropped
}
