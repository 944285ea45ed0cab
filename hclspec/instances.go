package hclspec

import (
	"fmt"
	"math/big"
	"sort"
	"strconv"

	"github.com/hashicorp/hcl/v2"
	"github.com/zclconf/go-cty/cty"
)

// instance is one copy of a resource block: the block itself, or one
// element of its for_each or count.
type instance struct {
	name  string               // "web", `web["server7"]` or "web[0]"
	extra map[string]cty.Value // each or count
	key   cty.Value            // for_each key or count index; NilVal when single
}

// repetition is how a block repeats.
type repetition int

const (
	single repetition = iota
	forEach
	counted
)

// expand evaluates for_each or count of d into its instances.
func expand(d *decl, ctx *hcl.EvalContext) ([]instance, repetition, hcl.Diagnostics) {
	fe, hasFE := d.content.Attributes["for_each"]
	cnt, hasCount := d.content.Attributes["count"]
	switch {
	case hasFE && hasCount:
		return nil, single, hcl.Diagnostics{{Severity: hcl.DiagError, Summary: "Invalid combination of count and for_each",
			Detail: fmt.Sprintf("The %s block %s sets both count and for_each; use one of them.", d.kind, d.name), Subject: cnt.NameRange.Ptr()}}
	case hasFE:
		inst, diags := expandForEach(d, fe, ctx)
		return inst, forEach, diags
	case hasCount:
		inst, diags := expandCount(d, cnt, ctx)
		return inst, counted, diags
	}
	return []instance{{name: d.name}}, single, nil
}

func expandForEach(d *decl, a *hcl.Attribute, ctx *hcl.EvalContext) ([]instance, hcl.Diagnostics) {
	v, diags := a.Expr.Value(ctx)
	if diags.HasErrors() {
		return nil, diags
	}
	bad := func(why string) hcl.Diagnostics {
		return append(diags, &hcl.Diagnostic{Severity: hcl.DiagError, Summary: "Invalid for_each argument",
			Detail:  fmt.Sprintf("The for_each of %s.%s must be a map, or a set of strings, known before anything is deployed; %s.", d.kind, d.name, why),
			Subject: a.Expr.Range().Ptr()})
	}
	if v.ContainsMarked() {
		return nil, bad("this is derived from a sensitive variable, and instance names are shown everywhere")
	}
	ty := v.Type()
	switch {
	case !v.IsWhollyKnown():
		return nil, diags // an upstream error was reported already
	case v.IsNull():
		return nil, bad("it is null")
	case ty.IsSetType() && ty.ElementType() == cty.String:
	case ty.IsMapType() || ty.IsObjectType():
	case ty.IsListType() || ty.IsTupleType() || ty.IsSetType():
		return nil, bad("this is a list; convert it with toset(...)")
	default:
		return nil, bad("this is a " + ty.FriendlyName())
	}
	var out []instance
	for it := v.ElementIterator(); it.Next(); {
		k, ev := it.Element()
		if ty.IsSetType() {
			k = ev
		}
		if k.IsNull() {
			return nil, bad("it contains null")
		}
		key := k.AsString()
		each := cty.ObjectVal(map[string]cty.Value{"key": cty.StringVal(key), "value": ev})
		out = append(out, instance{name: fmt.Sprintf("%s[%q]", d.name, key), key: cty.StringVal(key),
			extra: map[string]cty.Value{"each": each}})
	}
	sort.SliceStable(out, func(i, j int) bool { return out[i].key.AsString() < out[j].key.AsString() })
	return out, diags
}

// maxCount bounds count so a typo cannot make a million instances.
const maxCount = 1000

func expandCount(d *decl, a *hcl.Attribute, ctx *hcl.EvalContext) ([]instance, hcl.Diagnostics) {
	v, diags := a.Expr.Value(ctx)
	if diags.HasErrors() || !v.IsWhollyKnown() {
		return nil, diags
	}
	v, _ = v.UnmarkDeep()
	n := -1
	if v.Type() == cty.Number && !v.IsNull() {
		bf := v.AsBigFloat()
		if bf.IsInt() && bf.Cmp(big.NewFloat(0)) >= 0 && bf.Cmp(big.NewFloat(maxCount)) <= 0 {
			i, _ := bf.Int64()
			n = int(i)
		}
	}
	if n < 0 {
		return nil, append(diags, &hcl.Diagnostic{Severity: hcl.DiagError, Summary: "Invalid count argument",
			Detail:  fmt.Sprintf("The count of %s.%s must be a whole number from 0 to %d.", d.kind, d.name, maxCount),
			Subject: a.Expr.Range().Ptr()})
	}
	out := make([]instance, n)
	for i := range out {
		idx := cty.NumberIntVal(int64(i))
		out[i] = instance{name: d.name + "[" + strconv.Itoa(i) + "]", key: idx,
			extra: map[string]cty.Value{"count": cty.ObjectVal(map[string]cty.Value{"index": idx})}}
	}
	return out, diags
}

// blockValue assembles the value a reference to the whole block sees:
// the instance, an object keyed by for_each key, or a tuple by index.
func blockValue(rep repetition, inst []instance, vals []cty.Value) cty.Value {
	switch rep {
	case forEach:
		m := map[string]cty.Value{}
		for i, in := range inst {
			m[in.key.AsString()] = vals[i]
		}
		return cty.ObjectVal(m)
	case counted:
		return cty.TupleVal(vals)
	}
	if len(vals) == 1 {
		return vals[0]
	}
	return cty.DynamicVal
}
