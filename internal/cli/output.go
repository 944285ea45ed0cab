package cli

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"sort"

	"github.com/stickyform/stickyform/internal/engine"
)

// runOutput is `stickyform output [NAME]`: the outputs recorded by the
// last apply; -json for all of them as JSON, -raw for one string plain.
func runOutput(e *env, args []string) error {
	fs := newFlagSet(e, "output", "output [options] [NAME]")
	jsonOut := fs.Bool("json", false, "print as JSON")
	raw := fs.Bool("raw", false, "print one output's value without quoting (for scripts)")
	pos, err := parseInterspersed(fs, args)
	if err != nil {
		return err
	}
	st, err := engine.LoadState(e.dir)
	if err != nil {
		return err
	}
	outs := st.Outputs
	if len(pos) > 1 {
		return fmt.Errorf("output: want at most one name, got %q", pos)
	}
	if len(pos) == 1 {
		o, ok := outs[pos[0]]
		if !ok {
			return fmt.Errorf("output %q not found; the outputs are recorded by apply", pos[0])
		}
		return printOneOutput(e.stdout, o, *jsonOut, *raw)
	}
	if *raw {
		return fmt.Errorf("output: -raw needs an output name")
	}
	if *jsonOut {
		enc := json.NewEncoder(e.stdout)
		enc.SetIndent("", "  ")
		return enc.Encode(jsonOutputs(outs))
	}
	if len(outs) == 0 {
		fmt.Fprint(e.stderr, "No outputs found: run apply first, or the configuration has no output blocks.\n")
		return nil
	}
	printOutputs(e.stdout, outs)
	return nil
}

func printOneOutput(w io.Writer, o engine.OutputState, jsonOut, raw bool) error {
	switch {
	case raw:
		var s any
		if err := json.Unmarshal(o.Value, &s); err != nil {
			return err
		}
		switch v := s.(type) {
		case string:
			fmt.Fprint(w, v)
		case float64, bool:
			fmt.Fprint(w, v)
		default:
			return fmt.Errorf("output -raw: the value is not a string, number or bool; use -json")
		}
	case jsonOut:
		fmt.Fprintln(w, compactJSON(o.Value))
	default:
		fmt.Fprintln(w, renderValue(o))
	}
	return nil
}

// jsonOutputs is Terraform's `output -json` shape.
func jsonOutputs(outs map[string]engine.OutputState) map[string]any {
	m := map[string]any{}
	for k, o := range outs {
		m[k] = map[string]any{"sensitive": o.Sensitive, "type": o.Type, "value": o.Value}
	}
	return m
}

// printOutputs writes `name = value` lines, sorted, sensitive ones hidden.
func printOutputs(w io.Writer, outs map[string]engine.OutputState) {
	names := make([]string, 0, len(outs))
	for n := range outs {
		names = append(names, n)
	}
	sort.Strings(names)
	for _, n := range names {
		fmt.Fprintf(w, "%s = %s\n", n, renderValue(outs[n]))
	}
}

func renderValue(o engine.OutputState) string {
	if o.Sensitive {
		return "<sensitive>"
	}
	return compactJSON(o.Value)
}

func compactJSON(b []byte) string {
	var buf bytes.Buffer
	if err := json.Compact(&buf, b); err != nil {
		return string(b)
	}
	return buf.String()
}
