package hclspec

import (
	"fmt"
	"os"
	"path/filepath"
	"sort"
	"strings"

	"github.com/hashicorp/hcl/v2"
	"github.com/hashicorp/hcl/v2/ext/typeexpr"
	"github.com/hashicorp/hcl/v2/hclparse"
	"github.com/hashicorp/hcl/v2/hclsyntax"
	"github.com/zclconf/go-cty/cty"
	"github.com/zclconf/go-cty/cty/convert"
)

// rawValue is a variable value from outside the configuration, before it
// is converted to the variable's type.
type rawValue struct {
	value  cty.Value // set for -var-file values
	raw    string    // set for -var and environment values
	source string    // "-var", "a -var-file", "the environment"
	rng    *hcl.Range
}

// decodeVariables evaluates the variable blocks of m against the inputs,
// with Terraform's precedence: defaults < environment < -var-file < -var.
func decodeVariables(p *hclparse.Parser, m *module, dir string, in VarInputs) ([]*Variable, map[string]cty.Value, hcl.Diagnostics) {
	declared := map[string]*Variable{}
	var out []*Variable
	var diags hcl.Diagnostics
	for _, d := range m.order {
		if d.kind != "variable" {
			continue
		}
		v, ds := decodeVariableBlock(d)
		diags = append(diags, ds...)
		declared[v.Name] = v
		out = append(out, v)
	}
	given, ds := gatherInputs(p, dir, in, declared)
	diags = append(diags, ds...)
	values := map[string]cty.Value{}
	for _, v := range out {
		if raw, ok := given[v.Name]; ok {
			val, ds := raw.convert(v)
			diags = append(diags, ds...)
			v.Value = val
		} else if v.Value == cty.NilVal {
			diags = append(diags, &hcl.Diagnostic{Severity: hcl.DiagError, Summary: "No value for required variable",
				Detail: fmt.Sprintf("The variable %s has no default and no value was given; set it with -var '%s=...', in a -var-file, or in the environment as STICKYFORM_VAR_%s.",
					v.Name, v.Name, v.Name),
				Subject: v.DeclRange.Ptr()})
		}
		if v.Value == cty.NilVal {
			v.Value = cty.DynamicVal // keep going; references to it stay quiet
		}
		values[v.Name] = v.Value
	}
	return out, values, diags
}

func decodeVariableBlock(d *decl) (*Variable, hcl.Diagnostics) {
	v := &Variable{Name: d.name, Type: cty.DynamicPseudoType, DeclRange: d.block.DefRange}
	var diags hcl.Diagnostics
	attrs := d.content.Attributes
	if a, ok := attrs["type"]; ok {
		ty, ds := typeexpr.TypeConstraint(a.Expr)
		diags = append(diags, ds...)
		if !ds.HasErrors() {
			v.Type = ty
		}
	}
	if a, ok := attrs["description"]; ok {
		diags = append(diags, literal(a, cty.String, func(val cty.Value) { v.Description = val.AsString() })...)
	}
	if a, ok := attrs["sensitive"]; ok {
		diags = append(diags, literal(a, cty.Bool, func(val cty.Value) { v.Sensitive = val.True() })...)
	}
	if a, ok := attrs["default"]; ok {
		v.Value = cty.DynamicVal // until it proves valid: a bad default is not a missing one
		val, ds := a.Expr.Value(nil)
		diags = append(diags, ds...)
		if !ds.HasErrors() {
			conv, err := convert.Convert(val, v.Type)
			if err != nil {
				diags = append(diags, &hcl.Diagnostic{Severity: hcl.DiagError, Summary: "Invalid default value for variable",
					Detail:  fmt.Sprintf("The default of variable %s does not match its type: %s.", v.Name, err),
					Subject: a.Expr.Range().Ptr()})
			} else {
				v.Value = conv
			}
		}
	}
	return v, diags
}

// literal evaluates a constant attribute and converts it to ty.
func literal(a *hcl.Attribute, ty cty.Type, set func(cty.Value)) hcl.Diagnostics {
	val, diags := a.Expr.Value(nil)
	if diags.HasErrors() {
		return diags
	}
	conv, err := convert.Convert(val, ty)
	if err != nil || conv.IsNull() || !conv.IsKnown() {
		return append(diags, &hcl.Diagnostic{Severity: hcl.DiagError, Summary: "Incorrect attribute value type",
			Detail:  fmt.Sprintf("The %s attribute must be %s.", a.Name, friendly(ty)),
			Subject: a.Expr.Range().Ptr()})
	}
	set(conv)
	return diags
}

// gatherInputs merges the outside values by precedence; later sources win.
func gatherInputs(p *hclparse.Parser, dir string, in VarInputs, declared map[string]*Variable) (map[string]rawValue, hcl.Diagnostics) {
	given := map[string]rawValue{}
	var diags hcl.Diagnostics
	envNames := make([]string, 0, len(in.Env))
	for n := range in.Env {
		envNames = append(envNames, n)
	}
	sort.Strings(envNames)
	for _, n := range envNames {
		if declared[n] != nil { // Terraform ignores undeclared environment values
			given[n] = rawValue{raw: in.Env[n], source: "the environment variable STICKYFORM_VAR_" + n}
		}
	}
	for _, path := range in.Files {
		diags = append(diags, readVarFile(p, dir, path, declared, given)...)
	}
	for _, kv := range in.Flags {
		name, value, ok := strings.Cut(kv, "=")
		name = strings.TrimSpace(name)
		if !ok || name == "" {
			diags = append(diags, &hcl.Diagnostic{Severity: hcl.DiagError, Summary: "Invalid -var option",
				Detail: fmt.Sprintf("The option -var %q is not of the form NAME=VALUE, e.g. -var 'user=admin'.", kv)})
			continue
		}
		if declared[name] == nil {
			diags = append(diags, &hcl.Diagnostic{Severity: hcl.DiagError, Summary: "Value for undeclared variable",
				Detail: fmt.Sprintf("A variable named %q was assigned with -var, but the configuration declares no such variable; declare it with a variable block or remove the option.", name)})
			continue
		}
		given[name] = rawValue{raw: value, source: "-var"}
	}
	return given, diags
}

func readVarFile(p *hclparse.Parser, dir, path string, declared map[string]*Variable, given map[string]rawValue) hcl.Diagnostics {
	full := path
	if !filepath.IsAbs(full) {
		full = filepath.Join(dir, path)
	}
	src, err := os.ReadFile(full)
	if err != nil {
		return hcl.Diagnostics{{Severity: hcl.DiagError, Summary: "Cannot read variables file",
			Detail: fmt.Sprintf("Reading the -var-file %s failed: %v.", path, err)}}
	}
	parse := p.ParseHCL
	if strings.HasSuffix(path, ".json") {
		parse = p.ParseJSON // name.json files hold {"name": value}, as Terraform's *.tfvars.json
	}
	f, diags := parse(src, displayName(full))
	if diags.HasErrors() {
		return diags
	}
	attrs, ds := f.Body.JustAttributes()
	diags = append(diags, ds...)
	for _, name := range sortedAttrNames(attrs) {
		a := attrs[name]
		if declared[name] == nil {
			diags = append(diags, &hcl.Diagnostic{Severity: hcl.DiagWarning, Summary: "Value for undeclared variable",
				Detail:  fmt.Sprintf("The file %s assigns %q, but the configuration declares no such variable; the value is ignored.", path, name),
				Subject: a.NameRange.Ptr()})
			continue
		}
		val, ds := a.Expr.Value(nil)
		diags = append(diags, ds...)
		if !ds.HasErrors() {
			given[name] = rawValue{value: val, source: "the file " + path, rng: a.Expr.Range().Ptr()}
		}
	}
	return diags
}

func sortedAttrNames(attrs hcl.Attributes) []string {
	names := make([]string, 0, len(attrs))
	for n := range attrs {
		names = append(names, n)
	}
	sort.Strings(names)
	return names
}

// convert turns an outside value into the variable's type. Raw strings are
// taken literally for primitive (string, number, bool) and untyped
// variables, and parsed as HCL expressions for other types (as Terraform
// does): "-var n=abc" then reads "a number is required", not a complaint
// about HCL expressions the operator never wrote.
func (r rawValue) convert(v *Variable) (cty.Value, hcl.Diagnostics) {
	val := r.value
	if val == cty.NilVal {
		if v.Type.IsPrimitiveType() || v.Type == cty.DynamicPseudoType {
			val = cty.StringVal(r.raw)
		} else {
			expr, diags := hclsyntax.ParseExpression([]byte(r.raw), "<value for var."+v.Name+">", hcl.InitialPos)
			if diags.HasErrors() {
				return cty.NilVal, badVarValue(v, r, "it is not a valid expression")
			}
			val, diags = expr.Value(nil)
			if diags.HasErrors() {
				return cty.NilVal, badVarValue(v, r, "it must be a constant value")
			}
		}
	}
	conv, err := convert.Convert(val, v.Type)
	if err != nil {
		return cty.NilVal, badVarValue(v, r, err.Error())
	}
	return conv, nil
}

func badVarValue(v *Variable, r rawValue, why string) hcl.Diagnostics {
	return hcl.Diagnostics{{Severity: hcl.DiagError, Summary: "Invalid value for variable",
		Detail:  fmt.Sprintf("The value for variable %s from %s is not valid: %s.", v.Name, r.source, why),
		Subject: r.rng}}
}
