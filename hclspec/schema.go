package hclspec

import "github.com/hashicorp/hcl/v2"

// attrSpec describes one attribute of a block. The same table builds the
// hcl.BodySchema used for decoding and is checked against README's
// configuration reference by a test, so the two cannot drift apart.
type attrSpec struct {
	name     string
	required bool
	def      string // default as documented; "" when there is none
}

// blockSpec describes a block type: its labels, attributes and the nested
// blocks it may contain (each at most once).
type blockSpec struct {
	typ    string
	labels []string
	attrs  []attrSpec
	blocks []blockSpec
}

// repeatAttrs are the meta-arguments that repeat a host, cache or app
// block, as in Terraform.
func repeatAttrs() []attrSpec {
	return []attrSpec{{name: "for_each"}, {name: "count"}}
}

// languageSpec returns every top-level block type except locals, whose
// attributes are user-defined.
func languageSpec() []blockSpec {
	return []blockSpec{
		{typ: "variable", labels: []string{"name"}, attrs: []attrSpec{
			{name: "default"}, {name: "description"}, {name: "type", def: "any"},
			{name: "sensitive", def: "false"},
		}},
		{typ: "output", labels: []string{"name"}, attrs: []attrSpec{
			{name: "value", required: true}, {name: "description"}, {name: "sensitive", def: "false"},
		}},
		{typ: "host", labels: []string{"name"}, attrs: append([]attrSpec{
			{name: "address", required: true}, {name: "port", def: "22"}, {name: "user", def: `"root"`},
			{name: "identity_file"}, {name: "known_hosts", def: `"~/.ssh/known_hosts"`}, {name: "host_key"},
		}, repeatAttrs()...)},
		{typ: "cache", labels: []string{"name"}, attrs: append([]attrSpec{
			{name: "host"}, {name: "listen", def: "the host's address"}, {name: "port", def: "11211"},
			{name: "memory_mb", def: "64"}, {name: "engine", def: `"builtin"`},
			{name: "max_item_size", def: "1048576"}, {name: "max_conns", def: "1024"},
			{name: "external", def: "false"}, {name: "address"},
		}, repeatAttrs()...)},
		{typ: "app", labels: []string{"name"}, attrs: append([]attrSpec{
			{name: "host", required: true}, {name: "listen", def: "the host's address"},
			{name: "port", def: "8080"}, {name: "static"}, {name: "upstream"},
		}, repeatAttrs()...), blocks: []blockSpec{sessionSpec()}},
		{typ: "proxy", labels: []string{"name"}, attrs: []attrSpec{
			{name: "host", required: true}, {name: "listen", def: "80"},
			{name: "listen_address", def: "the host's address"}, {name: "backends", required: true},
			{name: "weights", def: "1 for each backend"}, {name: "balance", def: `"round-robin"`},
			{name: "admin_listen", def: `"127.0.0.1:9180"`},
			{name: "access_log", def: `"/var/log/stickyform/proxy-NAME.access.log"`},
		}, blocks: []blockSpec{stickySpec(), healthCheckSpec()}},
	}
}

func sessionSpec() blockSpec {
	return blockSpec{typ: "session", attrs: []attrSpec{
		{name: "cookie", def: `"JSESSIONID"`}, {name: "timeout", def: `"30m"`},
		{name: "mode", def: `"sticky"`}, {name: "locking", def: `"auto"`},
		{name: "nodes", required: true},
		{name: "failover_nodes", def: "the nodes on the app's own host, none if that is all of them"},
	}}
}

func stickySpec() blockSpec {
	return blockSpec{typ: "sticky", attrs: []attrSpec{
		{name: "name", def: `"route"`}, {name: "hash", def: `"md5"`}, {name: "hmac_key"},
		{name: "expires", def: "none (a session cookie)"}, {name: "domain"}, {name: "path", def: `"/"`},
		{name: "secure", def: "false"}, {name: "httponly", def: "true"}, {name: "samesite"},
		{name: "no_fallback", def: "false"},
	}}
}

func healthCheckSpec() blockSpec {
	return blockSpec{typ: "health_check", attrs: []attrSpec{
		{name: "path", def: `"/health"`}, {name: "interval", def: `"2s"`}, {name: "timeout", def: `"1s"`},
		{name: "fall", def: "3"}, {name: "rise", def: "2"},
	}}
}

// bodySchema turns a blockSpec into the schema of its body.
func (b blockSpec) bodySchema() *hcl.BodySchema {
	s := &hcl.BodySchema{}
	for _, a := range b.attrs {
		s.Attributes = append(s.Attributes, hcl.AttributeSchema{Name: a.name, Required: a.required})
	}
	for _, nb := range b.blocks {
		s.Blocks = append(s.Blocks, hcl.BlockHeaderSchema{Type: nb.typ})
	}
	return s
}

// rootSchema lists the top-level block types of a configuration file.
func rootSchema() *hcl.BodySchema {
	s := &hcl.BodySchema{Blocks: []hcl.BlockHeaderSchema{{Type: "locals"}}}
	for _, b := range languageSpec() {
		s.Blocks = append(s.Blocks, hcl.BlockHeaderSchema{Type: b.typ, LabelNames: b.labels})
	}
	return s
}

// specFor returns the spec of a top-level block type.
func specFor(typ string) blockSpec {
	for _, b := range languageSpec() {
		if b.typ == typ {
			return b
		}
	}
	panic("hclspec: no spec for block type " + typ)
}
