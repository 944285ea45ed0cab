package cli

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// run runs the CLI in-process and returns its output and exit code.
func run(t *testing.T, stdin string, args ...string) (stdout, stderr string, code int) {
	t.Helper()
	var out, errb bytes.Buffer
	err := Run(context.Background(), args, strings.NewReader(stdin), &out, &errb)
	var ee *ExitError
	switch {
	case err == nil:
	case errors.As(err, &ee):
		code = ee.Code
	default:
		code = 1
		errb.WriteString(err.Error())
	}
	return out.String(), errb.String(), code
}

// classicCopy copies examples/classic into a temp dir, applying an edit.
func classicCopy(t *testing.T, old, new string) string {
	t.Helper()
	src, err := os.ReadFile("../../examples/classic/main.hcl")
	if err != nil {
		t.Fatal(err)
	}
	if old != "" && !bytes.Contains(src, []byte(old)) {
		t.Fatalf("examples/classic/main.hcl no longer contains %q", old)
	}
	dir := t.TempDir()
	if err := os.WriteFile(filepath.Join(dir, "main.hcl"), bytes.Replace(src, []byte(old), []byte(new), 1), 0o644); err != nil {
		t.Fatal(err)
	}
	return dir
}

func TestValidate(t *testing.T) {
	bad := classicCopy(t, "memory_mb = 64", "memory_mb = -64")
	good := classicCopy(t, "", "")
	for _, tc := range []struct {
		name   string
		args   []string
		env    string
		code   int
		stdout string
		stderr string
	}{
		{name: "classic example", args: []string{"validate", "../../examples/classic"}, stdout: "Success! The configuration is valid."},
		{name: "chdir", args: []string{"-chdir=../../examples/classic", "validate"}, stdout: "Success!"},
		{name: "mistake", args: []string{"validate", bad}, code: 1, stderr: "line 67, in cache \"n1\""},
		{name: "flag after the directory", args: []string{"validate", bad, "-no-such-flag"}, code: 1, stderr: "flag provided but not defined"},
		{name: "-var overrides", args: []string{"validate", "-var", "proxy_address=not an address", good}, code: 1, stderr: "Invalid host address"},
		{name: "double-dash flags", args: []string{"validate", "--var=app1_address=8.8.8.8", good}, stdout: "validation warnings", stderr: "Cache on a public address"},
		{name: "environment variable", env: "8.8.4.4", args: []string{"validate", good}, stderr: "8.8.4.4"},
		{name: "undeclared -var", args: []string{"validate", "-var", "nope=1", good}, code: 1, stderr: "Value for undeclared variable"},
		{name: "two directories", args: []string{"validate", good, bad}, code: 1, stderr: "at most one directory"},
		{name: "empty directory", args: []string{"validate", t.TempDir()}, code: 1, stderr: "No configuration files"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if tc.env != "" {
				t.Setenv("STICKYFORM_VAR_app2_address", tc.env)
			}
			stdout, stderr, code := run(t, "", tc.args...)
			if code != tc.code {
				t.Errorf("got exit %d; want %d\nstdout: %s\nstderr: %s", code, tc.code, stdout, stderr)
			}
			if !strings.Contains(stdout, tc.stdout) {
				t.Errorf("got stdout %q; want it to contain %q", stdout, tc.stdout)
			}
			if !strings.Contains(stderr, tc.stderr) {
				t.Errorf("got stderr %q; want it to contain %q", stderr, tc.stderr)
			}
		})
	}
}

func TestValidateJSON(t *testing.T) {
	bad := classicCopy(t, `hash     = "md5"`, `hash     = "sha256"`)
	type pos struct{ Line, Column, Byte int }
	var report struct {
		Valid        bool `json:"valid"`
		ErrorCount   int  `json:"error_count"`
		WarningCount int  `json:"warning_count"`
		Diagnostics  []struct {
			Severity, Summary, Detail string
			Range                     struct {
				Filename   string
				Start, End pos
			}
			Snippet struct {
				Code      string
				StartLine int `json:"start_line"`
			}
		}
	}
	stdout, _, code := run(t, "", "validate", "-json", bad)
	if code != 1 {
		t.Errorf("got exit %d; want 1", code)
	}
	if err := json.Unmarshal([]byte(stdout), &report); err != nil {
		t.Fatalf("decode %q: %v", stdout, err)
	}
	if report.Valid || report.ErrorCount != 1 || len(report.Diagnostics) != 1 {
		t.Fatalf("got valid=%v errors=%d diagnostics=%d; want false, 1, 1", report.Valid, report.ErrorCount, len(report.Diagnostics))
	}
	d := report.Diagnostics[0]
	if d.Severity != "error" || d.Summary != "Unknown hash" || filepath.Base(d.Range.Filename) != "main.hcl" ||
		d.Range.Start.Line != 101 || d.Snippet.StartLine != 101 || !strings.Contains(d.Snippet.Code, "sha256") {
		t.Errorf("got %+v; want an error Unknown hash at main.hcl:101 with its snippet", d)
	}
	stdout, _, code = run(t, "", "validate", "-json", "../../examples/classic")
	if code != 0 || !strings.Contains(stdout, `"valid": true`) || !strings.Contains(stdout, `"diagnostics": []`) {
		t.Errorf("got exit %d and %s; want 0 and a valid report", code, stdout)
	}
}
