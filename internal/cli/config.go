package cli

import (
	"flag"
	"os"
	"path/filepath"
	"strings"

	"github.com/hashicorp/hcl/v2"

	"github.com/stickyform/stickyform/hclspec"
)

// configFlags are the flags of every command that reads the configuration.
type configFlags struct {
	vars     stringList
	varFiles stringList
}

func (f *configFlags) register(fs *flag.FlagSet) {
	fs.Var(&f.vars, "var", "set a variable: -var 'name=value' (repeatable)")
	fs.Var(&f.varFiles, "var-file", "load variables from a file of name = value lines, e.g. prod.sfvars, or a .json object (repeatable)")
}

// loadConfig loads the configuration of e.dir, printing diagnostics
// (warnings too) to stderr. It returns errReported when there are errors.
func loadConfig(e *env, f *configFlags) (*hclspec.Config, error) {
	cfg, files, diags := f.load(e, e.dir)
	if len(diags) > 0 {
		printDiagnostics(e, files, diags)
	}
	if diags.HasErrors() {
		return nil, errReported
	}
	return cfg, nil
}

// load loads the configuration of dir with the variables of f and of the
// environment, without printing anything. -var-file paths are relative
// to the working directory (after -chdir), as in Terraform, even when
// dir is another directory.
func (f *configFlags) load(e *env, dir string) (*hclspec.Config, map[string]*hcl.File, hcl.Diagnostics) {
	files := make([]string, len(f.varFiles))
	for i, p := range f.varFiles {
		files[i] = p
		if !filepath.IsAbs(p) {
			files[i] = filepath.Join(e.dir, p)
		}
	}
	inputs := hclspec.VarInputs{Env: envVars(), Files: files, Flags: f.vars}
	return hclspec.Load(dir, inputs)
}

// printDiagnostics writes diags with source snippets, as Terraform does.
func printDiagnostics(e *env, files map[string]*hcl.File, diags hcl.Diagnostics) {
	w := hcl.NewDiagnosticTextWriter(e.stderr, files, 78, !e.noColor && isTerminal(e.stderr))
	w.WriteDiagnostics(diags)
}

// envVars collects STICKYFORM_VAR_name variables from the environment.
func envVars() map[string]string {
	vars := map[string]string{}
	for _, kv := range os.Environ() {
		k, v, _ := strings.Cut(kv, "=")
		if name, ok := strings.CutPrefix(k, "STICKYFORM_VAR_"); ok && name != "" {
			vars[name] = v
		}
	}
	return vars
}

// stringList is a repeatable string flag.
type stringList []string

func (l *stringList) String() string     { return strings.Join(*l, ",") }
func (l *stringList) Set(v string) error { *l = append(*l, v); return nil }

// isTerminal reports whether w is a character device (a terminal).
func isTerminal(w any) bool {
	f, ok := w.(*os.File)
	if !ok {
		return false
	}
	st, err := f.Stat()
	return err == nil && st.Mode()&os.ModeCharDevice != 0
}
