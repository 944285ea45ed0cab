package hclspec

import (
	"fmt"
	"math/big"
	"strings"
	"time"

	"github.com/hashicorp/hcl/v2"
	"github.com/zclconf/go-cty/cty"
	"github.com/zclconf/go-cty/cty/convert"
)

// ranges records where each attribute that was set comes from, keyed by
// "ADDR.attr" (e.g. `app.tomcat1.session.nodes`, and `...nodes[1]` for
// the second element of a reference list). Defaults fill only what is
// absent here, and validation points its diagnostics at these ranges.
type ranges map[string]hcl.Range

// has reports whether the attribute key was set in the configuration.
func (r ranges) has(key string) bool { _, ok := r[key]; return ok }

// at returns the range of key, or fallback when key was not set.
func (r ranges) at(key string, fallback hcl.Range) *hcl.Range {
	if rng, ok := r[key]; ok {
		return &rng
	}
	return &fallback
}

// decoder evaluates the attributes of one body into Go values.
type decoder struct {
	ctx        *hcl.EvalContext
	reg        *registry
	rng        ranges
	prefix     string // e.g. "app.tomcat1.session"
	attrs      hcl.Attributes
	diags      hcl.Diagnostics
	incomplete bool // a value was unknown or wrong: do not use the result
}

// sub returns a decoder for a nested block's content (which may be nil).
func (d *decoder) sub(name string, c *hcl.BodyContent) *decoder {
	s := &decoder{ctx: d.ctx, reg: d.reg, rng: d.rng, prefix: d.prefix + "." + name}
	if c != nil {
		s.attrs = c.Attributes
	}
	return s
}

// done folds a sub-decoder's results back into d.
func (d *decoder) done(s *decoder) {
	d.diags = append(d.diags, s.diags...)
	d.incomplete = d.incomplete || s.incomplete
}

// value evaluates attribute name; ok is false when absent, null or broken.
func (d *decoder) value(name string, ty cty.Type) (cty.Value, *hcl.Attribute, bool) {
	a, present := d.attrs[name]
	if !present {
		return cty.NilVal, nil, false
	}
	v, diags := a.Expr.Value(d.ctx)
	d.diags = append(d.diags, diags...)
	if diags.HasErrors() {
		d.incomplete = true
		return cty.NilVal, a, false
	}
	v, _ = v.UnmarkDeep() // sensitive values are fine in resources
	if v.IsNull() {
		return cty.NilVal, a, false
	}
	if !v.IsWhollyKnown() {
		d.incomplete = true
		return cty.NilVal, a, false
	}
	if ty != cty.DynamicPseudoType {
		conv, err := convert.Convert(v, ty)
		if err != nil {
			d.errorf(a.Expr.Range(), "Incorrect attribute value type", "The %s attribute of %s must be %s, not %s.", name, d.owner(), friendly(ty), aKind(typeName(v)))
			return cty.NilVal, a, false
		}
		v = conv
	}
	d.rng[d.prefix+"."+name] = a.Expr.Range()
	return v, a, true
}

// owner names the block being decoded for messages, e.g. "app.tomcat1"
// or "the session block of app.tomcat1".
func (d *decoder) owner() string {
	for _, nb := range []string{"session", "sticky", "health_check"} {
		if res, ok := strings.CutSuffix(d.prefix, "."+nb); ok {
			return "the " + nb + " block of " + res
		}
	}
	return d.prefix
}

func friendly(ty cty.Type) string {
	switch ty {
	case cty.String:
		return "a string"
	case cty.Number:
		return "a number"
	case cty.Bool:
		return "true or false"
	}
	return "a " + ty.FriendlyName()
}

func (d *decoder) errorf(rng hcl.Range, summary, format string, args ...any) {
	d.incomplete = true
	d.diags = append(d.diags, &hcl.Diagnostic{Severity: hcl.DiagError, Summary: summary,
		Detail: fmt.Sprintf(format, args...), Subject: rng.Ptr()})
}

func (d *decoder) str(name string, dst *string) {
	if v, _, ok := d.value(name, cty.String); ok {
		*dst = v.AsString()
	}
}

func (d *decoder) boolean(name string, dst *bool) {
	if v, _, ok := d.value(name, cty.Bool); ok {
		*dst = v.True()
	}
}

// integer accepts whole numbers that fit an int32; anything larger is no
// port, size or count an operator means.
func (d *decoder) integer(name string, dst *int) {
	v, a, ok := d.value(name, cty.Number)
	if !ok {
		return
	}
	bf := v.AsBigFloat()
	if !bf.IsInt() {
		d.errorf(a.Expr.Range(), "Invalid number", "The %s attribute of %s must be a whole number; got %s.", name, d.owner(), bf.Text('g', 10))
		return
	}
	if bf.Cmp(big.NewFloat(-1<<31)) < 0 || bf.Cmp(big.NewFloat(1<<31-1)) > 0 {
		d.errorf(a.Expr.Range(), "Number out of range", "The %s attribute of %s is %s, which is far outside any sensible value.", name, d.owner(), bf.Text('g', 10))
		return
	}
	i, _ := bf.Int64()
	*dst = int(i)
}

func (d *decoder) duration(name string, dst *time.Duration) {
	v, a, ok := d.value(name, cty.String)
	if !ok {
		return
	}
	dur, err := time.ParseDuration(v.AsString())
	if err != nil {
		d.errorf(a.Expr.Range(), "Invalid duration", "The %s attribute of %s must be a duration such as \"30m\", \"90s\" or \"1h30m\"; %q is not one.", name, d.owner(), v.AsString())
		return
	}
	*dst = dur
}
