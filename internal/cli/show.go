package cli

import (
	"encoding/json"
	"fmt"
	"io"
	"sort"
	"strings"

	"github.com/stickyform/stickyform/internal/engine"
)

// runShow is `stickyform show`: the state, human-readable or -json.
func runShow(e *env, args []string) error {
	fs := newFlagSet(e, "show", "show [options]")
	jsonOut := fs.Bool("json", false, "print the state as JSON")
	if err := parseFlags(fs, args); err != nil {
		return err
	}
	st, err := engine.LoadState(e.dir)
	if err != nil {
		return err
	}
	if *jsonOut {
		enc := json.NewEncoder(e.stdout)
		enc.SetIndent("", "  ")
		return enc.Encode(st)
	}
	if len(st.Resources) == 0 {
		fmt.Fprintln(e.stdout, "The state is empty: nothing is deployed.")
		return nil
	}
	for _, r := range st.Resources {
		showResource(e.stdout, r)
	}
	if len(st.Outputs) > 0 {
		fmt.Fprint(e.stdout, "Outputs:\n\n")
		printOutputs(e.stdout, st.Outputs)
	}
	return nil
}

func showResource(w io.Writer, r *engine.ResourceState) {
	attrs := [][2]string{
		{"host", quoteJSON(r.HostName)}, {"host_address", quoteJSON(r.HostAddress)},
		{"listen", quoteJSON(r.Listen)}, {"config_sha256", quoteJSON(r.ConfigSHA256)},
		{"binary_sha256", quoteJSON(r.BinarySHA256)},
	}
	var cfg map[string]any
	json.Unmarshal(r.Config, &cfg)
	keys := make([]string, 0, len(cfg))
	for k := range cfg {
		if k != "listen" {
			keys = append(keys, k)
		}
	}
	sort.Strings(keys)
	for _, k := range keys {
		b, _ := json.Marshal(cfg[k])
		attrs = append(attrs, [2]string{k, string(b)})
	}
	width := 0
	for _, a := range attrs {
		width = max(width, len(a[0]))
	}
	fmt.Fprintf(w, "# %s:\n%s %q {\n", r.Addr, r.Kind, r.Name)
	for _, a := range attrs {
		fmt.Fprintf(w, "    %s%s = %s\n", a[0], strings.Repeat(" ", width-len(a[0])), a[1])
	}
	fmt.Fprint(w, "}\n\n")
}

func quoteJSON(s string) string {
	b, _ := json.Marshal(s)
	return string(b)
}
