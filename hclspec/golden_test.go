package hclspec

import (
	"bytes"
	"encoding/json"
	"flag"
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"

	"github.com/hashicorp/hcl/v2"
)

var update = flag.Bool("update", false, "rewrite the golden files and the FuzzLoad seed corpus")

// TestGoldenDiagnostics renders the diagnostics of every mistake as text
// (HCL's diagnostic writer, as validate prints them) and as JSON (as
// validate -json prints them) and compares both with golden files.
func TestGoldenDiagnostics(t *testing.T) {
	testdata, err := filepath.Abs("testdata")
	if err != nil {
		t.Fatal(err)
	}
	classic := classicSource(t)
	var text bytes.Buffer
	var reports []namedReport
	for _, m := range mistakes() {
		src := m.apply(t, classic)
		t.Run(m.name, func(t *testing.T) {
			_, files, diags := loadSource(t, src, m.vars)
			fmt.Fprintf(&text, "### %s\n", m.name)
			w := hcl.NewDiagnosticTextWriter(&text, files, 78, false)
			if err := w.WriteDiagnostics(diags); err != nil {
				t.Fatal(err)
			}
			reports = append(reports, namedReport{m.name, NewJSONReport(files, diags)})
		})
		if *update {
			writeSeed(t, filepath.Join(testdata, "fuzz", "FuzzLoad"), m.name, src)
		}
	}
	js, err := json.MarshalIndent(reports, "", "  ")
	if err != nil {
		t.Fatal(err)
	}
	golden(t, filepath.Join(testdata, "diagnostics.txt.golden"), text.Bytes())
	golden(t, filepath.Join(testdata, "diagnostics.json.golden"), append(js, '\n'))
}

type namedReport struct {
	Case   string     `json:"case"`
	Report JSONReport `json:"report"`
}

// golden compares got with the file at path, or rewrites it with -update.
func golden(t *testing.T, path string, got []byte) {
	t.Helper()
	if *update {
		if err := os.WriteFile(path, got, 0o644); err != nil {
			t.Fatal(err)
		}
		return
	}
	want, err := os.ReadFile(path)
	if err != nil {
		t.Fatalf("%v (run go test ./hclspec -run Golden -update to create it)", err)
	}
	if !bytes.Equal(got, want) {
		gl, wl := strings.Split(string(got), "\n"), strings.Split(string(want), "\n")
		for i := 0; i < len(gl) && i < len(wl); i++ {
			if gl[i] != wl[i] {
				t.Fatalf("%s differs at line %d:\ngot  %q\nwant %q\n(run go test ./hclspec -run Golden -update after checking the change)", filepath.Base(path), i+1, gl[i], wl[i])
			}
		}
		t.Fatalf("%s differs in length: got %d lines; want %d", filepath.Base(path), len(gl), len(wl))
	}
}

// writeSeed stores src as a FuzzLoad corpus entry named after the case.
func writeSeed(t *testing.T, dir, name, src string) {
	t.Helper()
	if err := os.MkdirAll(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	file := regexp.MustCompile(`[^a-z0-9]+`).ReplaceAllString(strings.ToLower(name), "-")
	body := fmt.Sprintf("go test fuzz v1\n[]byte(%q)\n", src)
	if err := os.WriteFile(filepath.Join(dir, file), []byte(body), 0o644); err != nil {
		t.Fatal(err)
	}
}
