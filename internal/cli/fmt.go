package cli

import (
	"bytes"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"strings"

	"github.com/hashicorp/hcl/v2"
	"github.com/hashicorp/hcl/v2/hclsyntax"
	"github.com/hashicorp/hcl/v2/hclwrite"
)

// fmtOptions are the flags of the fmt command, as in terraform fmt.
type fmtOptions struct {
	list, write, diff, check, recursive bool
	files                               map[string]*hcl.File // parsed, for diagnostics
}

// runFmt rewrites *.hcl files in the canonical format. Exit status, as
// terraform fmt: 0 when done (or, with -check, when everything is
// already formatted), 3 when -check finds files to format, 2 when a
// file cannot be parsed or read.
func runFmt(e *env, args []string) error {
	fs := newFlagSet(e, "fmt", "fmt [-check] [-diff] [-recursive] [-list=false] [-write=false] [PATH...]\n\nPATH is a file, a directory (its *.hcl files) or - for standard input.")
	o := fmtOptions{files: map[string]*hcl.File{}}
	fs.BoolVar(&o.list, "list", true, "list the files whose formatting differs")
	fs.BoolVar(&o.write, "write", true, "write the result to the source file")
	fs.BoolVar(&o.diff, "diff", false, "print the differences")
	fs.BoolVar(&o.check, "check", false, "only check: exit 3 when a file is not formatted (implies -write=false)")
	fs.BoolVar(&o.recursive, "recursive", false, "also format subdirectories")
	paths, err := parseInterspersed(fs, args)
	if err != nil {
		return err
	}
	if o.check {
		o.write = false
	}
	if len(paths) == 0 {
		paths = []string{"."}
	}
	var diags hcl.Diagnostics
	changed := 0
	for _, p := range paths {
		n, ds := o.path(e, p)
		changed += n
		diags = append(diags, ds...)
	}
	if diags.HasErrors() {
		printDiagnostics(e, o.files, diags)
		return &ExitError{Code: 2}
	}
	if o.check && changed > 0 {
		return &ExitError{Code: 3}
	}
	return nil
}

// path formats one command-line path and returns how many files differed.
func (o fmtOptions) path(e *env, p string) (int, hcl.Diagnostics) {
	if p == "-" {
		src, err := io.ReadAll(e.stdin)
		if err != nil {
			return 0, fmtError("-", err)
		}
		out, diags := o.format(src, "<stdin>")
		if diags.HasErrors() {
			return 0, diags
		}
		if o.check {
			return boolInt(!bytes.Equal(src, out)), nil
		}
		_, err = e.stdout.Write(out)
		return 0, fmtError("-", err)
	}
	full := p
	if !filepath.IsAbs(full) {
		full = filepath.Join(e.dir, p)
	}
	st, err := os.Stat(full)
	if err != nil {
		return 0, fmtError(p, err)
	}
	if !st.IsDir() {
		return o.file(e, full, p)
	}
	files, err := o.collect(full, p)
	if err != nil {
		return 0, fmtError(p, err)
	}
	changed := 0
	var diags hcl.Diagnostics
	for _, f := range files {
		n, ds := o.file(e, f[0], f[1])
		changed += n
		diags = append(diags, ds...)
	}
	return changed, diags
}

// collect lists the *.hcl files of dir (and below, with -recursive), each
// as its full path and as shown: relative to the way the user named dir.
func (o fmtOptions) collect(full, shown string) ([][2]string, error) {
	var out [][2]string
	err := filepath.WalkDir(full, func(path string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if d.IsDir() {
			if path != full && (!o.recursive || strings.HasPrefix(d.Name(), ".")) {
				return filepath.SkipDir
			}
			return nil
		}
		if strings.HasSuffix(d.Name(), ".hcl") && !strings.HasPrefix(d.Name(), ".") {
			rel, _ := filepath.Rel(full, path)
			out = append(out, [2]string{path, filepath.Join(shown, rel)})
		}
		return nil
	})
	return out, err
}

// file formats one file; name is how it is shown.
func (o fmtOptions) file(e *env, full, name string) (int, hcl.Diagnostics) {
	src, err := os.ReadFile(full)
	if err != nil {
		return 0, fmtError(name, err)
	}
	out, diags := o.format(src, name)
	if diags.HasErrors() || bytes.Equal(src, out) {
		return 0, diags
	}
	if o.list {
		fmt.Fprintln(e.stdout, name)
	}
	if o.diff {
		fmt.Fprint(e.stdout, unifiedDiff(name, string(src), string(out)))
	}
	if o.write {
		if err := writeFileAtomic(full, out); err != nil {
			return 1, fmtError(name, err)
		}
	}
	return 1, nil
}

// formatSource checks the syntax (hclwrite alone would format broken
// input) and returns the canonical form.
func (o fmtOptions) format(src []byte, name string) ([]byte, hcl.Diagnostics) {
	f, diags := hclsyntax.ParseConfig(src, name, hcl.InitialPos)
	if diags.HasErrors() {
		if f != nil {
			o.files[name] = f
		}
		return nil, diags
	}
	return hclwrite.Format(src), nil
}

// writeFileAtomic replaces path keeping its mode: temp file in the same
// directory, fsync, rename.
func writeFileAtomic(path string, data []byte) error {
	st, err := os.Stat(path)
	if err != nil {
		return err
	}
	tmp, err := os.CreateTemp(filepath.Dir(path), "."+filepath.Base(path)+".tmp*")
	if err != nil {
		return err
	}
	defer os.Remove(tmp.Name())
	if _, err := tmp.Write(data); err != nil {
		tmp.Close()
		return err
	}
	if err := tmp.Chmod(st.Mode().Perm()); err != nil {
		tmp.Close()
		return err
	}
	if err := tmp.Sync(); err != nil {
		tmp.Close()
		return err
	}
	if err := tmp.Close(); err != nil {
		return err
	}
	return os.Rename(tmp.Name(), path)
}

func fmtError(name string, err error) hcl.Diagnostics {
	if err == nil {
		return nil
	}
	return hcl.Diagnostics{{Severity: hcl.DiagError, Summary: "Cannot format " + name, Detail: err.Error() + "."}}
}

func boolInt(b bool) int {
	if b {
		return 1
	}
	return 0
}
