package hclspec

import (
	"bytes"

	"github.com/hashicorp/hcl/v2"
)

// JSONReport is the machine-readable result of validation, in the shape
// of `terraform validate -json`.
type JSONReport struct {
	FormatVersion string           `json:"format_version"` // "1.0"
	Valid         bool             `json:"valid"`
	ErrorCount    int              `json:"error_count"`
	WarningCount  int              `json:"warning_count"`
	Diagnostics   []JSONDiagnostic `json:"diagnostics"`
}

// JSONDiagnostic is one diagnostic; Range and Snippet are nil for
// problems that have no place in a file (such as a bad -var option).
type JSONDiagnostic struct {
	Severity string       `json:"severity"` // "error" or "warning"
	Summary  string       `json:"summary"`
	Detail   string       `json:"detail"`
	Range    *JSONRange   `json:"range,omitempty"`
	Snippet  *JSONSnippet `json:"snippet,omitempty"`
}

// JSONRange is a source range; lines and columns count from 1, bytes
// from 0.
type JSONRange struct {
	Filename string  `json:"filename"`
	Start    JSONPos `json:"start"`
	End      JSONPos `json:"end"`
}

// JSONPos is a position in a source file.
type JSONPos struct {
	Line   int `json:"line"`
	Column int `json:"column"`
	Byte   int `json:"byte"`
}

// JSONSnippet is the source around a diagnostic: the enclosing block
// header as Context, the lines of the range as Code, and the highlighted
// part as byte offsets into Code.
type JSONSnippet struct {
	Context              *string `json:"context"`
	Code                 string  `json:"code"`
	StartLine            int     `json:"start_line"`
	HighlightStartOffset int     `json:"highlight_start_offset"`
	HighlightEndOffset   int     `json:"highlight_end_offset"`
	Values               []any   `json:"values"`
}

// NewJSONReport converts diags, using files for snippets.
func NewJSONReport(files map[string]*hcl.File, diags hcl.Diagnostics) JSONReport {
	r := JSONReport{FormatVersion: "1.0", Diagnostics: []JSONDiagnostic{}}
	for _, d := range diags {
		jd := JSONDiagnostic{Severity: "error", Summary: d.Summary, Detail: d.Detail}
		if d.Severity == hcl.DiagWarning {
			jd.Severity = "warning"
			r.WarningCount++
		} else {
			r.ErrorCount++
		}
		if d.Subject != nil {
			s := *d.Subject
			jd.Range = &JSONRange{Filename: s.Filename,
				Start: JSONPos{s.Start.Line, s.Start.Column, s.Start.Byte},
				End:   JSONPos{s.End.Line, s.End.Column, s.End.Byte}}
			jd.Snippet = snippet(files[s.Filename], s)
		}
		r.Diagnostics = append(r.Diagnostics, jd)
	}
	r.Valid = r.ErrorCount == 0
	return r
}

// snippet cuts the whole lines that rng spans out of f.
func snippet(f *hcl.File, rng hcl.Range) *JSONSnippet {
	if f == nil || rng.Start.Byte < 0 || rng.End.Byte > len(f.Bytes) || rng.Start.Byte > rng.End.Byte {
		return nil
	}
	src := f.Bytes
	start := bytes.LastIndexByte(src[:rng.Start.Byte], '\n') + 1
	end := len(src)
	if i := bytes.IndexByte(src[rng.End.Byte:], '\n'); i >= 0 {
		end = rng.End.Byte + i
	}
	if rng.End.Byte > rng.Start.Byte && rng.End.Byte > 0 && src[rng.End.Byte-1] == '\n' {
		end = rng.End.Byte - 1 // a range ending at a newline ends on its line
	}
	if end < start {
		end = start
	}
	s := &JSONSnippet{Code: string(src[start:end]), StartLine: rng.Start.Line,
		HighlightStartOffset: rng.Start.Byte - start, HighlightEndOffset: min(rng.End.Byte, end) - start, Values: []any{}}
	if nav, ok := f.Nav.(interface{ ContextString(int) string }); ok {
		if c := nav.ContextString(rng.Start.Byte); c != "" {
			s.Context = &c
		}
	}
	return s
}
