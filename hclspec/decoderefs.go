package hclspec

import (
	"fmt"
	"strconv"
	"strings"

	"github.com/hashicorp/hcl/v2"
	"github.com/zclconf/go-cty/cty"
)

// example references for messages, by kind.
func exampleRef(kind string) string {
	return map[string]string{"host": "host.server3", "cache": "cache.n1", "app": "app.tomcat1"}[kind]
}

// single decodes an attribute that must refer to exactly one resource of
// kind, e.g. host = host.server3.
func (d *decoder) single(name, kind string) any {
	v, a, ok := d.value(name, cty.DynamicPseudoType)
	if !ok {
		return nil
	}
	summary := fmt.Sprintf("Invalid %s reference", name)
	if e := d.reg.find(v); e != nil {
		if e.kind == kind {
			return e.ptr
		}
		d.errorf(a.Expr.Range(), summary, "The %s attribute of %s must refer to %s such as %s, but this refers to %s.",
			name, d.owner(), aKind(kind), exampleRef(kind), aKind(e.kind))
		return nil
	}
	if found, _, _ := d.reg.flatten(v); len(found) > 1 {
		d.errorf(a.Expr.Range(), summary, "The %s attribute of %s must refer to one %s, but this refers to %d of them; pick one instance, e.g. with [each.key] or [count.index].",
			name, d.owner(), kind, len(found))
		return nil
	}
	d.errorf(a.Expr.Range(), summary, "The %s attribute of %s must be a reference to %s such as %s, not %s.",
		name, d.owner(), aKind(kind), exampleRef(kind), aKind(typeName(v)))
	return nil
}

// list decodes an attribute that must be a list of references to
// resources of kind. A literal list is checked element by element so that
// diagnostics point at the offending element; any other expression (a
// splat, a for expression, a function) is checked as a whole.
func (d *decoder) list(name, kind string) ([]any, bool) {
	a, present := d.attrs[name]
	if !present {
		return nil, false
	}
	elems, diags := hcl.ExprList(a.Expr)
	set := !diags.HasErrors() // a literal list, even an empty one
	if !set {
		elems = []hcl.Expression{a.Expr}
	}
	out := []any{}
	for _, e := range elems {
		v, ds := e.Value(d.ctx)
		d.diags = append(d.diags, ds...)
		if ds.HasErrors() {
			d.incomplete = true
			continue
		}
		v, _ = v.UnmarkDeep()
		if len(elems) == 1 && e == a.Expr && v.IsNull() {
			return nil, false // name = null means unset
		}
		set = true
		found, rest, unknown := d.reg.flatten(v)
		if unknown {
			d.incomplete = true
			continue
		}
		if len(rest) > 0 {
			d.errorf(e.Range(), fmt.Sprintf("Invalid %s element", name),
				"Each element of %s in %s must be a reference to %s such as %s, not %s.", name, d.owner(), aKind(kind), exampleRef(kind), aKind(typeName(rest[0])))
			continue
		}
		for _, f := range found {
			if f.kind != kind {
				d.errorf(e.Range(), fmt.Sprintf("Invalid %s element", name),
					"Each element of %s in %s must refer to %s such as %s, but this refers to %s.", name, d.owner(), aKind(kind), exampleRef(kind), aKind(f.kind))
				continue
			}
			d.rng[d.prefix+"."+name+"["+strconv.Itoa(len(out))+"]"] = e.Range()
			out = append(out, f.ptr)
		}
	}
	if set {
		d.rng[d.prefix+"."+name] = a.Expr.Range()
	}
	return out, set
}

func typeName(v cty.Value) string {
	if v.IsNull() {
		return "null value"
	}
	return v.Type().FriendlyName()
}

// aKind puts "a" or "an" before a noun.
func aKind(noun string) string {
	if noun != "" && strings.ContainsRune("aeiou", rune(noun[0])) {
		return "an " + noun
	}
	return "a " + noun
}
