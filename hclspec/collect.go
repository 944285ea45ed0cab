package hclspec

import (
	"fmt"
	"os"
	"path/filepath"
	"sort"
	"strings"

	"github.com/hashicorp/hcl/v2"
	"github.com/hashicorp/hcl/v2/hclparse"
	"github.com/hashicorp/hcl/v2/hclsyntax"
)

// decl is one named top-level block (variable, output or a resource) with
// its body decoded against the block's schema.
type decl struct {
	kind, name string
	block      *hcl.Block
	content    *hcl.BodyContent
	nested     map[string]*hcl.BodyContent // session, sticky, health_check
	nestedDef  map[string]hcl.Range
}

// addr is the declaration's address, e.g. "cache.n1" or "var.key".
func (d *decl) addr() string {
	if d.kind == "variable" {
		return "var." + d.name
	}
	return d.kind + "." + d.name
}

// module is every declaration of a configuration directory.
type module struct {
	decls  map[string]*decl // by addr
	order  []*decl          // source order
	locals map[string]*hcl.Attribute
}

// source is one configuration file's name (as diagnostics show it) and
// content.
type source struct {
	name string
	src  []byte
}

// readDir reads the *.hcl files of dir, sorted by name. Names are shown
// relative to the working directory when dir lies below it.
func readDir(dir string) ([]source, hcl.Diagnostics) {
	entries, err := os.ReadDir(dir)
	if err != nil {
		return nil, hcl.Diagnostics{{Severity: hcl.DiagError, Summary: "Cannot read configuration directory",
			Detail: fmt.Sprintf("Reading the directory %s failed: %v.", dir, err)}}
	}
	var out []source
	var diags hcl.Diagnostics
	for _, e := range entries {
		if e.IsDir() || !strings.HasSuffix(e.Name(), ".hcl") || strings.HasPrefix(e.Name(), ".") {
			continue
		}
		src, err := os.ReadFile(filepath.Join(dir, e.Name()))
		if err != nil {
			diags = append(diags, &hcl.Diagnostic{Severity: hcl.DiagError, Summary: "Cannot read configuration file",
				Detail: fmt.Sprintf("Reading %s failed: %v.", e.Name(), err)})
			continue
		}
		out = append(out, source{name: displayName(filepath.Join(dir, e.Name())), src: src})
	}
	if len(out) == 0 && !diags.HasErrors() {
		diags = append(diags, &hcl.Diagnostic{Severity: hcl.DiagError, Summary: "No configuration files",
			Detail: fmt.Sprintf("The directory %s contains no *.hcl files; stickyform reads the *.hcl files of the current directory or of -chdir=DIR.", dir)})
	}
	return out, diags
}

// parseSources parses every source with p.
func parseSources(p *hclparse.Parser, srcs []source) ([]*hcl.File, hcl.Diagnostics) {
	var files []*hcl.File
	var diags hcl.Diagnostics
	for _, s := range srcs {
		f, ds := p.ParseHCL(s.src, s.name)
		diags = append(diags, ds...)
		if f != nil {
			files = append(files, f)
		}
	}
	return files, diags
}

// displayName is how diagnostics name a file: relative to the working
// directory when the file lies below it, else absolute.
func displayName(full string) string {
	wd, err := os.Getwd()
	if err != nil {
		return full
	}
	rel, err := filepath.Rel(wd, full)
	if err != nil || strings.HasPrefix(rel, "..") {
		return full
	}
	return rel
}

// collect sorts the top-level blocks of files into declarations, reporting
// unknown block types, bad names and duplicates.
func collect(files []*hcl.File) (*module, hcl.Diagnostics) {
	m := &module{decls: map[string]*decl{}, locals: map[string]*hcl.Attribute{}}
	var diags hcl.Diagnostics
	for _, f := range files {
		content, ds := f.Body.Content(rootSchema())
		for _, d := range ds {
			if d.Summary == "Unsupported argument" { // name = value at the top of a file
				d.Detail += " Values of variables belong in a -var-file (not a *.hcl file of this directory), and named values in a locals block."
			}
		}
		diags = append(diags, ds...)
		if content == nil {
			continue
		}
		for _, b := range content.Blocks {
			if b.Type == "locals" {
				diags = append(diags, m.addLocals(b)...)
				continue
			}
			diags = append(diags, m.addBlock(b)...)
		}
	}
	return m, diags
}

func (m *module) addLocals(b *hcl.Block) hcl.Diagnostics {
	attrs, diags := b.Body.JustAttributes()
	names := make([]string, 0, len(attrs))
	for n := range attrs {
		names = append(names, n)
	}
	sort.Strings(names)
	for _, n := range names {
		a := attrs[n]
		if prev, ok := m.locals[n]; ok {
			diags = append(diags, &hcl.Diagnostic{Severity: hcl.DiagError, Summary: "Duplicate local value",
				Detail:  fmt.Sprintf("A local value named %s was already defined at %s; each local needs a unique name.", n, where(prev.NameRange)),
				Subject: a.NameRange.Ptr()})
			continue
		}
		m.locals[n] = a
	}
	return diags
}

func (m *module) addBlock(b *hcl.Block) hcl.Diagnostics {
	name := b.Labels[0]
	if !hclsyntax.ValidIdentifier(name) {
		return hcl.Diagnostics{{Severity: hcl.DiagError, Summary: "Invalid block name",
			Detail: fmt.Sprintf("The %s name %q is not valid: a name starts with a letter and has only letters, digits, underscores and dashes, so that references such as %s.NAME work.",
				b.Type, name, refRoot(b.Type)),
			Subject: b.LabelRanges[0].Ptr()}}
	}
	d := &decl{kind: b.Type, name: name, block: b, nested: map[string]*hcl.BodyContent{}, nestedDef: map[string]hcl.Range{}}
	if prev, ok := m.decls[d.addr()]; ok {
		return hcl.Diagnostics{{Severity: hcl.DiagError, Summary: fmt.Sprintf("Duplicate %s block", b.Type),
			Detail:  fmt.Sprintf("A %s named %s was already defined at %s; each %s needs a unique name.", b.Type, name, where(prev.block.DefRange), b.Type),
			Subject: b.DefRange.Ptr()}}
	}
	spec := specFor(b.Type)
	content, diags := b.Body.Content(spec.bodySchema())
	if content == nil {
		content = &hcl.BodyContent{Attributes: hcl.Attributes{}}
	}
	d.content = content
	for _, nb := range content.Blocks {
		if prev, ok := d.nestedDef[nb.Type]; ok {
			diags = append(diags, &hcl.Diagnostic{Severity: hcl.DiagError, Summary: fmt.Sprintf("Duplicate %s block", nb.Type),
				Detail:  fmt.Sprintf("The %s %s has more than one %s block (the first at %s); merge them into one.", b.Type, name, nb.Type, where(prev)),
				Subject: nb.DefRange.Ptr()})
			continue
		}
		for _, ns := range spec.blocks {
			if ns.typ == nb.Type {
				c, ds := nb.Body.Content(ns.bodySchema())
				diags = append(diags, ds...)
				d.nested[nb.Type] = c
				d.nestedDef[nb.Type] = nb.DefRange
			}
		}
	}
	if b.Type == "app" && d.nested["session"] == nil {
		diags = append(diags, &hcl.Diagnostic{Severity: hcl.DiagError, Summary: "Missing session block",
			Detail:  fmt.Sprintf("The app %s needs a session block naming the cache nodes that store its sessions, e.g. session { nodes = [cache.n1, cache.n2] }.", name),
			Subject: b.DefRange.Ptr()})
	}
	m.decls[d.addr()] = d
	m.order = append(m.order, d)
	return diags
}

// refRoot is how references to a block type start: var for variables.
func refRoot(typ string) string {
	if typ == "variable" {
		return "var"
	}
	return typ
}

// where names a source position for messages, e.g. "main.hcl:12".
func where(r hcl.Range) string { return fmt.Sprintf("%s:%d", r.Filename, r.Start.Line) }
