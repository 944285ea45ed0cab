package hclspec

import (
	"net"
	"strconv"

	"github.com/hashicorp/hcl/v2"
)

// VarInputs are variable values from outside the files, in Terraform's
// precedence order (later wins): STICKYFORM_VAR_name environment
// variables, -var-file files in order, then -var flags in order.
type VarInputs struct {
	Env   map[string]string // name -> raw value, from STICKYFORM_VAR_name
	Files []string          // -var-file paths, relative to the working dir
	Flags []string          // "-var" arguments, each "name=value"
}

// Load parses, decodes, defaults and validates the *.hcl files of dir. It
// also returns the parsed files (by filename) so callers can print
// diagnostics with source snippets. The Config is nil when diags has
// errors; warnings may come with a valid Config.
// PLACEHOLDER: the hclspec implementation replaces this body.
func Load(dir string, vars VarInputs) (*Config, map[string]*hcl.File, hcl.Diagnostics) {
	return nil, nil, hcl.Diagnostics{{Severity: hcl.DiagError, Summary: "hclspec: not built yet"}}
}

func joinHostPort(host string, port int) string {
	return net.JoinHostPort(host, strconv.Itoa(port))
}
