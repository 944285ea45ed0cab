package hclspec

import (
	"bytes"
	"testing"

	"github.com/hashicorp/hcl/v2"
)

// FuzzLoad feeds arbitrary files through parse, decode, defaults and
// validation. No input may panic, and the result must be consistent:
// a Config exactly when there are no errors, every diagnostic with a
// summary, and both renderings working. The seed corpus in
// testdata/fuzz/FuzzLoad (the classic example with each known mistake)
// runs as a regression test under plain go test.
func FuzzLoad(f *testing.F) {
	f.Add([]byte(""))
	f.Add([]byte("host \"a\" {\n  address = \"10.0.0.1\"\n  for_each = toset([\"x\", \"y\"])\n}\n"))
	f.Add([]byte("locals {\n  a = local.b\n  b = local.a\n}\n"))
	dir := f.TempDir()
	f.Fuzz(func(t *testing.T, src []byte) {
		cfg, files, diags := load(dir, []source{{name: "main.hcl", src: src}}, VarInputs{})
		if diags.HasErrors() != (cfg == nil) {
			t.Fatalf("got config %v with errors %v", cfg != nil, diags.HasErrors())
		}
		for _, d := range diags {
			if d.Summary == "" {
				t.Fatalf("diagnostic without summary: %#v", d)
			}
			if d.Subject != nil && d.Subject.Filename != "main.hcl" {
				t.Fatalf("diagnostic %q names file %q; want main.hcl", d.Summary, d.Subject.Filename)
			}
		}
		var buf bytes.Buffer
		if err := hcl.NewDiagnosticTextWriter(&buf, files, 78, false).WriteDiagnostics(diags); err != nil {
			t.Fatal(err)
		}
		r := NewJSONReport(files, diags)
		if r.Valid != (cfg != nil) {
			t.Fatalf("got valid=%v with config %v", r.Valid, cfg != nil)
		}
	})
}

// TestNoPanics runs inputs that once panicked or could: each must load
// without a panic.
func TestNoPanics(t *testing.T) {
	for _, src := range []string{
		tier + "proxy \"p2\" {\n  host = host.a\n  backends = [app.x]\n  weights = { x = null }\n}\n",
		tier + "output \"o\" { value = file(\"/dev/zero\") }\n",
		tier + "host \"h\" {\n  for_each = toset([null])\n  address = \"1.1.1.1\"\n}\n",
		tier + "variable \"s\" {\n  sensitive = true\n  default = [\"k\"]\n}\nhost \"h\" {\n  for_each = toset(var.s)\n  address = \"1.1.1.1\"\n}\n",
		tier + "host \"h\" {\n  count = var.nope\n  address = \"1.1.1.1\"\n}\n",
		"host \"h\" {\n  address = \"1.1.1.1\"\n  port = 1e400\n}\n",
		"cache \"c\" { host = null }\n",
		"app \"a\" {\n  host = {}\n  session {\n    nodes = [{}, null, [[]], \"x\"]\n  }\n}\n",
		"locals { a = local.a }\n",
	} {
		load(t.TempDir(), []source{{name: "main.hcl", src: []byte(src)}}, VarInputs{})
	}
}
