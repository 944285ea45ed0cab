package cli

import (
	"encoding/json"
	"flag"
	"fmt"
	"path/filepath"

	"github.com/stickyform/stickyform/hclspec"
)

// runValidate checks the configuration without touching any host, as
// terraform validate does; exit status 1 when it has errors.
func runValidate(e *env, args []string) error {
	fs := newFlagSet(e, "validate", "validate [-json] [-var NAME=VALUE] [-var-file FILE] [DIR]")
	asJSON := fs.Bool("json", false, "print the result as JSON (like terraform validate -json)")
	var cf configFlags
	cf.register(fs)
	pos, err := parseInterspersed(fs, args)
	if err != nil {
		return err
	}
	dir := e.dir
	switch len(pos) {
	case 0:
	case 1:
		dir = pos[0]
		if !filepath.IsAbs(dir) {
			dir = filepath.Join(e.dir, dir)
		}
	default:
		return fmt.Errorf("validate takes at most one directory, got %d arguments", len(pos))
	}
	_, files, diags := cf.load(e, dir)
	if *asJSON {
		out, err := json.MarshalIndent(hclspec.NewJSONReport(files, diags), "", "  ")
		if err != nil {
			return fmt.Errorf("validate: encode JSON: %w", err)
		}
		fmt.Fprintf(e.stdout, "%s\n", out)
	} else {
		printDiagnostics(e, files, diags)
		switch {
		case diags.HasErrors():
		case len(diags) > 0:
			fmt.Fprintln(e.stdout, "Success! The configuration is valid, but there were some validation warnings as shown above.")
		default:
			fmt.Fprintln(e.stdout, "Success! The configuration is valid.")
		}
	}
	if diags.HasErrors() {
		return errReported
	}
	return nil
}

// parseInterspersed parses flags that may come before or after the
// positional arguments (validate DIR -json), returning the positionals.
// A lone "--" ends the flags.
func parseInterspersed(fs *flag.FlagSet, args []string) ([]string, error) {
	var pos []string
	for {
		if err := parseFlags(fs, args); err != nil {
			return nil, err
		}
		rest := fs.Args()
		if len(rest) == 0 {
			return pos, nil
		}
		if len(args) > 0 && len(rest) < len(args) && args[len(args)-len(rest)-1] == "--" {
			return append(pos, rest...), nil
		}
		pos = append(pos, rest[0])
		args = rest[1:]
	}
}
