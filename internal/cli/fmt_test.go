package cli

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

const (
	messy     = "host \"a\" {\naddress=\"10.0.0.1\"\n    port = 22\n}\n"
	canonical = "host \"a\" {\n  address = \"10.0.0.1\"\n  port    = 22\n}\n"
)

func writeFiles(t *testing.T, files map[string]string) string {
	t.Helper()
	dir := t.TempDir()
	for name, src := range files {
		p := filepath.Join(dir, name)
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(p, []byte(src), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	return dir
}

func readFile(t *testing.T, path string) string {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

func TestFmt(t *testing.T) {
	for _, tc := range []struct {
		name      string
		args      []string
		code      int
		stdout    string
		main, sub string // file contents afterwards
	}{
		{name: "check lists and leaves files", args: []string{"-check"}, code: 3, stdout: "main.hcl\n", main: messy, sub: messy},
		{name: "rewrite", args: nil, stdout: "main.hcl\n", main: canonical, sub: messy},
		{name: "recursive", args: []string{"-recursive"}, stdout: "main.hcl\nsub/x.hcl\n", main: canonical, sub: canonical},
		{name: "diff", args: []string{"-diff", "-write=false"}, stdout: "main.hcl\n--- a/main.hcl\n+++ b/main.hcl\n@@ -1,4 +1,4 @@\n host \"a\" {\n-address=\"10.0.0.1\"\n-    port = 22\n+  address = \"10.0.0.1\"\n+  port    = 22\n }\n", main: messy, sub: messy},
		{name: "quiet", args: []string{"-list=false"}, stdout: "", main: canonical, sub: messy},
		{name: "one file", args: []string{"sub/x.hcl"}, stdout: "sub/x.hcl\n", main: messy, sub: canonical},
	} {
		t.Run(tc.name, func(t *testing.T) {
			dir := writeFiles(t, map[string]string{"main.hcl": messy, "sub/x.hcl": messy, "notes.txt": "a=1"})
			stdout, stderr, code := run(t, "", append([]string{"-chdir=" + dir, "fmt"}, tc.args...)...)
			if code != tc.code {
				t.Errorf("got exit %d; want %d (%s)", code, tc.code, stderr)
			}
			if stdout != tc.stdout {
				t.Errorf("got stdout %q; want %q", stdout, tc.stdout)
			}
			if got := readFile(t, filepath.Join(dir, "main.hcl")); got != tc.main {
				t.Errorf("got main.hcl %q; want %q", got, tc.main)
			}
			if got := readFile(t, filepath.Join(dir, "sub/x.hcl")); got != tc.sub {
				t.Errorf("got sub/x.hcl %q; want %q", got, tc.sub)
			}
			if got := readFile(t, filepath.Join(dir, "notes.txt")); got != "a=1" {
				t.Errorf("fmt touched notes.txt: %q", got)
			}
		})
	}
}

func TestFmtIdempotent(t *testing.T) {
	dir := writeFiles(t, map[string]string{"main.hcl": messy})
	if _, stderr, code := run(t, "", "-chdir="+dir, "fmt"); code != 0 {
		t.Fatalf("fmt: exit %d: %s", code, stderr)
	}
	stdout, _, code := run(t, "", "-chdir="+dir, "fmt", "-check")
	if code != 0 || stdout != "" {
		t.Errorf("got exit %d and %q after formatting; want 0 and nothing to list", code, stdout)
	}
	if stdout, _, code := run(t, "", "fmt", "-check", "../../examples/classic"); code != 0 {
		t.Errorf("examples/classic needs formatting (exit %d): %s", code, stdout)
	}
}

func TestFmtStdinAndErrors(t *testing.T) {
	stdout, _, code := run(t, messy, "fmt", "-")
	if code != 0 || stdout != canonical {
		t.Errorf("got exit %d and %q from stdin; want 0 and %q", code, stdout, canonical)
	}
	dir := writeFiles(t, map[string]string{"main.hcl": "host \"a\" {\n  address = \n}\n"})
	_, stderr, code := run(t, "", "-chdir="+dir, "fmt")
	if code != 2 || !strings.Contains(stderr, "main.hcl line 2") {
		t.Errorf("got exit %d and %q for a syntax error; want 2 and the diagnostic", code, stderr)
	}
	if got := readFile(t, filepath.Join(dir, "main.hcl")); !strings.Contains(got, "address = \n") {
		t.Errorf("fmt rewrote a file it could not parse: %q", got)
	}
	if _, _, code := run(t, "", "fmt", filepath.Join(dir, "missing.hcl")); code != 2 {
		t.Errorf("got exit %d for a missing file; want 2", code)
	}
}

func TestUnifiedDiffHunks(t *testing.T) {
	var a, b []string
	for i := 1; i <= 20; i++ {
		line := "line " + strings.Repeat("x", i)
		a = append(a, line)
		if i == 2 {
			line = "changed 2"
		}
		if i == 18 {
			continue
		}
		b = append(b, line)
	}
	got := unifiedDiff("f.hcl", strings.Join(a, "\n")+"\n", strings.Join(b, "\n")+"\n")
	want := "--- a/f.hcl\n+++ b/f.hcl\n" +
		"@@ -1,5 +1,5 @@\n line x\n-line xx\n+changed 2\n line xxx\n line xxxx\n line xxxxx\n" +
		"@@ -15,6 +15,5 @@\n line " + strings.Repeat("x", 15) + "\n line " + strings.Repeat("x", 16) + "\n line " + strings.Repeat("x", 17) +
		"\n-line " + strings.Repeat("x", 18) + "\n line " + strings.Repeat("x", 19) + "\n line " + strings.Repeat("x", 20) + "\n"
	if got != want {
		t.Errorf("got\n%s\nwant\n%s", got, want)
	}
}
