package hclspec

import (
	"github.com/hashicorp/hcl/v2"
	"github.com/zclconf/go-cty/cty"
	"github.com/zclconf/go-cty/cty/function"
)

// scope holds the values expressions can see, filled in evaluation order.
// Everything declared starts as unknown so that references to blocks that
// failed evaluate quietly instead of piling up follow-on errors.
type scope struct {
	vars   map[string]cty.Value
	locals map[string]cty.Value
	res    map[string]map[string]cty.Value // kind -> block name -> value
	path   cty.Value
	funcs  map[string]function.Function
}

// sensitiveMark marks values derived from sensitive variables, so that
// an output showing one must say sensitive = true (as in Terraform).
// The model only ever holds unmarked values.
type marker string

const sensitiveMark = marker("sensitive")

func newScope(m *module, dir string, vars map[string]cty.Value) *scope {
	s := &scope{vars: vars, locals: map[string]cty.Value{}, res: map[string]map[string]cty.Value{},
		path: cty.ObjectVal(map[string]cty.Value{"module": cty.StringVal(dir)}), funcs: functions(dir)}
	for n := range m.locals {
		s.locals[n] = cty.DynamicVal
	}
	for _, k := range []string{"host", "cache", "app", "proxy"} {
		s.res[k] = map[string]cty.Value{}
	}
	for _, d := range m.order {
		if r, ok := s.res[d.kind]; ok {
			r[d.name] = cty.DynamicVal
		}
	}
	return s
}

// ctx builds an EvalContext with extra variables (each, count) on top.
func (s *scope) ctx(extra map[string]cty.Value) *hcl.EvalContext {
	v := map[string]cty.Value{
		"var":   cty.ObjectVal(s.vars),
		"local": cty.ObjectVal(s.locals),
		"path":  s.path,
	}
	for k, r := range s.res {
		v[k] = cty.ObjectVal(r)
	}
	for k, x := range extra {
		v[k] = x
	}
	return &hcl.EvalContext{Variables: v, Functions: s.funcs}
}

// entry ties a resource instance's value to its decoded model.
type entry struct {
	val  cty.Value
	kind string
	ptr  any
}

// registry finds the resource instance a reference value denotes. Values
// are matched exactly, so a reference carries its identity without any
// hidden attribute in the objects users see. Entries are indexed by their
// name attribute so large configurations stay linear.
type registry struct{ byName map[string][]*entry }

func (r *registry) add(kind string, val cty.Value, ptr any) {
	if r.byName == nil {
		r.byName = map[string][]*entry{}
	}
	name := nameOf(val)
	r.byName[name] = append(r.byName[name], &entry{val: val, kind: kind, ptr: ptr})
}

// find returns the instance v denotes, or nil.
func (r *registry) find(v cty.Value) *entry {
	name := nameOf(v)
	if name == "" {
		return nil
	}
	for _, e := range r.byName[name] {
		if e.val.RawEquals(v) {
			return e
		}
	}
	return nil
}

// nameOf returns the name attribute of a resource-like object, or "".
func nameOf(v cty.Value) string {
	if !v.IsKnown() || v.IsNull() || !v.Type().IsObjectType() || !v.Type().HasAttribute("name") {
		return ""
	}
	n := v.GetAttr("name")
	if !n.IsKnown() || n.IsNull() || n.Type() != cty.String {
		return ""
	}
	return n.AsString()
}

// flatten turns a reference value into the resource values it holds:
// a single instance, or any nesting of lists, tuples, sets, maps and
// objects of instances (as app.web, app.web[*] or values(app.web) give).
// Values that are neither come back in rest.
func (r *registry) flatten(v cty.Value) (found []*entry, rest []cty.Value, unknown bool) {
	if !v.IsWhollyKnown() {
		return nil, nil, true
	}
	if e := r.find(v); e != nil {
		return []*entry{e}, nil, false
	}
	if v.IsNull() || !(v.CanIterateElements()) {
		return nil, []cty.Value{v}, false
	}
	for it := v.ElementIterator(); it.Next(); {
		_, ev := it.Element()
		f, x, u := r.flatten(ev)
		found, rest, unknown = append(found, f...), append(rest, x...), unknown || u
	}
	return found, rest, unknown
}
