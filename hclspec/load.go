package hclspec

import (
	"fmt"
	"net"
	"path/filepath"
	"strconv"

	"github.com/hashicorp/hcl/v2"
	"github.com/hashicorp/hcl/v2/hclparse"
	"github.com/zclconf/go-cty/cty"
)

// VarInputs are variable values from outside the files, in Terraform's
// precedence order (later wins): STICKYFORM_VAR_name environment
// variables, -var-file files in order, then -var flags in order.
type VarInputs struct {
	Env   map[string]string // name -> raw value, from STICKYFORM_VAR_name
	Files []string          // -var-file paths (HCL syntax), relative to dir
	Flags []string          // "-var" arguments, each "name=value"
}

// Load parses, decodes, defaults and validates the *.hcl files of dir. It
// also returns the parsed files (by filename) so callers can print
// diagnostics with source snippets. The Config is nil when diags has
// errors; warnings may come with a valid Config.
func Load(dir string, vars VarInputs) (*Config, map[string]*hcl.File, hcl.Diagnostics) {
	if abs, err := filepath.Abs(dir); err == nil {
		dir = abs
	}
	srcs, diags := readDir(dir)
	if diags.HasErrors() {
		return nil, nil, diags
	}
	cfg, files, ds := load(dir, srcs, vars)
	return cfg, files, append(diags, ds...)
}

// load is Load on sources already read; dir is still the directory that
// file() and -var-file paths are relative to.
func load(dir string, srcs []source, vars VarInputs) (*Config, map[string]*hcl.File, hcl.Diagnostics) {
	p := hclparse.NewParser()
	files, diags := parseSources(p, srcs)
	if diags.HasErrors() {
		return nil, p.Files(), diags
	}
	m, ds := collect(files)
	diags = append(diags, ds...)
	cfg := &Config{Dir: dir}
	variables, values, ds := decodeVariables(p, m, dir, vars)
	cfg.Variables = variables
	for _, v := range variables {
		if v.Sensitive {
			values[v.Name] = values[v.Name].Mark(sensitiveMark)
		}
	}
	diags = append(diags, ds...)
	rng, ds := evaluate(m, cfg, dir, values)
	diags = append(diags, ds...)
	// Validation sees only the instances that decoded completely, so it
	// can run despite earlier errors and report every problem at once.
	diags = dedupe(append(diags, validate(cfg, rng)...))
	if diags.HasErrors() {
		return nil, p.Files(), diags
	}
	return cfg, p.Files(), diags
}

// dedupe folds diagnostics with the same summary at the same place into
// the first: each instance of a for_each or count block reports the same
// mistake, and 23 copies of one message hide the others.
func dedupe(diags hcl.Diagnostics) hcl.Diagnostics {
	type key struct {
		summary string
		rng     hcl.Range
	}
	first := map[key]int{}
	extra := map[int]int{}
	var out hcl.Diagnostics
	for _, d := range diags {
		if d.Subject == nil {
			out = append(out, d)
			continue
		}
		k := key{d.Summary, *d.Subject}
		if i, ok := first[k]; ok {
			extra[i]++
			continue
		}
		first[k] = len(out)
		out = append(out, d)
	}
	for i, n := range extra {
		d := *out[i]
		d.Detail += fmt.Sprintf(" The same problem affects %d more instances of this block.", n)
		out[i] = &d
	}
	return out
}

// evaluate runs locals, resources and outputs in dependency order,
// filling cfg. It returns where each set attribute came from.
func evaluate(m *module, cfg *Config, dir string, vars map[string]cty.Value) (ranges, hcl.Diagnostics) {
	nodes, diags := m.nodes()
	order, ds := evalOrder(nodes)
	diags = append(diags, ds...)
	ev := &evaluator{m: m, cfg: cfg, scope: newScope(m, dir, vars), reg: &registry{}, rng: ranges{},
		instances: map[string][]string{}}
	for _, n := range order {
		if n.bad {
			continue
		}
		diags = append(diags, ev.node(n)...)
	}
	cfg.Dependencies = ev.dependencies(nodes)
	return ev.rng, diags
}

// evaluator carries the state of one evaluation pass.
type evaluator struct {
	m         *module
	cfg       *Config
	scope     *scope
	reg       *registry
	rng       ranges
	instances map[string][]string // block addr -> instance addrs
	pointers  map[string][]string // instance addr -> instances it holds pointers to
}

func (ev *evaluator) node(n *node) hcl.Diagnostics {
	if n.local != nil {
		v, diags := n.local.Expr.Value(ev.scope.ctx(nil))
		if !diags.HasErrors() {
			ev.scope.locals[n.local.Name] = v
		}
		return diags
	}
	if n.decl.kind == "output" {
		return ev.output(n.decl)
	}
	return ev.resource(n.decl)
}

func (ev *evaluator) output(d *decl) hcl.Diagnostics {
	o := &Output{Name: d.name, DeclRange: d.block.DefRange}
	dec := &decoder{ctx: ev.scope.ctx(nil), reg: ev.reg, rng: ev.rng, prefix: d.addr(), attrs: d.content.Attributes}
	dec.str("description", &o.Description)
	dec.boolean("sensitive", &o.Sensitive)
	if a, ok := d.content.Attributes["value"]; ok {
		v, ds := a.Expr.Value(dec.ctx)
		dec.diags = append(dec.diags, ds...)
		dec.incomplete = dec.incomplete || ds.HasErrors() || !v.IsWhollyKnown()
		if v.ContainsMarked() && !o.Sensitive {
			dec.errorf(a.Expr.Range(), "Output refers to sensitive values", "The output %s shows a value derived from a sensitive variable; add sensitive = true to the output to confirm it may be stored and shown only on request.", d.name)
		}
		o.Value, _ = v.UnmarkDeep()
	}
	if !dec.incomplete {
		ev.cfg.Outputs = append(ev.cfg.Outputs, o)
	}
	return dec.diags
}

// resource expands a resource block and decodes, defaults and registers
// each instance, then publishes the block's value to later expressions.
func (ev *evaluator) resource(d *decl) hcl.Diagnostics {
	inst, rep, diags := expand(d, ev.scope.ctx(nil))
	if diags.HasErrors() {
		return diags
	}
	vals := make([]cty.Value, len(inst))
	for i, in := range inst {
		addr := d.kind + "." + in.name
		ev.instances[d.addr()] = append(ev.instances[d.addr()], addr)
		dec := &decoder{ctx: ev.scope.ctx(in.extra), reg: ev.reg, rng: ev.rng, prefix: addr, attrs: d.content.Attributes,
			incomplete: missingRequired(d)}
		vals[i] = ev.decodeInstance(d, in.name, dec)
		diags = append(diags, dec.diags...)
	}
	ev.scope.res[d.kind][d.name] = blockValue(rep, inst, vals)
	return diags
}

// decodeInstance decodes one instance, fills its defaults, adds it to the
// config and returns its value (unknown when it could not be decoded).
func (ev *evaluator) decodeInstance(d *decl, name string, dec *decoder) cty.Value {
	var val cty.Value
	var ptr any
	switch d.kind {
	case "host":
		h := decodeHost(dec, name, d.block.DefRange)
		defaultHost(h, ev.rng)
		val, ptr = hostValue(h), h
		ev.add(dec, func() { ev.cfg.Hosts = append(ev.cfg.Hosts, h) })
	case "cache":
		c := decodeCache(dec, name, d.block.DefRange)
		defaultCache(c, ev.rng)
		val, ptr = cacheValue(c), c
		ev.add(dec, func() { ev.cfg.Caches = append(ev.cfg.Caches, c) })
	case "app":
		a := decodeApp(dec, name, d.block.DefRange, d.nested["session"])
		defaultApp(a, ev.rng)
		val, ptr = appValue(a), a
		ev.add(dec, func() { ev.cfg.Apps = append(ev.cfg.Apps, a) })
	case "proxy":
		p := decodeProxy(dec, name, d.block.DefRange, d.nested)
		defaultProxy(p, ev.rng)
		val, ptr = proxyValue(p), p
		ev.add(dec, func() { ev.cfg.Proxies = append(ev.cfg.Proxies, p) })
	}
	if dec.incomplete {
		return cty.DynamicVal
	}
	ev.reg.add(d.kind, val, ptr)
	return val
}

// missingRequired reports whether d lacks a required attribute or block;
// the schema has said so already, and validating the rest would only add
// follow-on noise.
func missingRequired(d *decl) bool {
	spec := specFor(d.kind)
	for _, a := range spec.attrs {
		if _, ok := d.content.Attributes[a.name]; a.required && !ok {
			return true
		}
	}
	for _, nb := range spec.blocks {
		c := d.nested[nb.typ]
		for _, a := range nb.attrs {
			if c == nil && nb.typ == "session" {
				return true
			}
			if c == nil {
				continue
			}
			if _, ok := c.Attributes[a.name]; a.required && !ok {
				return true
			}
		}
	}
	return false
}

func (ev *evaluator) add(dec *decoder, appendFn func()) {
	if !dec.incomplete {
		appendFn()
	}
}

func joinHostPort(host string, port int) string {
	return net.JoinHostPort(host, strconv.Itoa(port))
}
