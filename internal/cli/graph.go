package cli

import (
	"fmt"
	"sort"
	"strings"
)

// runGraph prints the dependency graph of the configuration in DOT, with
// edges from each dependent to what it depends on, like terraform graph.
func runGraph(e *env, args []string) error {
	fs := newFlagSet(e, "graph", "graph [-resources] [-var NAME=VALUE] [-var-file FILE]\n\nRender with: stickyform graph | dot -Tsvg > graph.svg")
	resourcesOnly := fs.Bool("resources", false, "show only hosts, caches, apps and proxies")
	var cf configFlags
	cf.register(fs)
	if err := parseFlags(fs, args); err != nil {
		return err
	}
	if fs.NArg() > 0 {
		return fmt.Errorf("graph takes no arguments; use -chdir=DIR for another directory")
	}
	cfg, err := loadConfig(e, &cf)
	if err != nil {
		return err
	}
	fmt.Fprint(e.stdout, dotGraph(cfg.Dependencies, *resourcesOnly))
	return nil
}

// dotGraph renders deps (address -> addresses it depends on) as DOT,
// nodes and edges sorted so the output is stable.
func dotGraph(deps map[string][]string, resourcesOnly bool) string {
	keep := func(addr string) bool {
		if !resourcesOnly {
			return true
		}
		kind, _, _ := strings.Cut(addr, ".")
		return kind == "host" || kind == "cache" || kind == "app" || kind == "proxy"
	}
	nodes := make([]string, 0, len(deps))
	for a := range deps {
		if keep(a) {
			nodes = append(nodes, a)
		}
	}
	sort.Strings(nodes)
	var sb strings.Builder
	sb.WriteString("digraph {\n\tcompound = \"true\"\n\tnewrank = \"true\"\n\trankdir = \"RL\"\n")
	for _, n := range nodes {
		fmt.Fprintf(&sb, "\t%s [label = %s, shape = %q]\n", dotQuote(n), dotQuote(n), nodeShape(n))
	}
	for _, n := range nodes {
		for _, d := range deps[n] {
			if keep(d) {
				fmt.Fprintf(&sb, "\t%s -> %s\n", dotQuote(n), dotQuote(d))
			}
		}
	}
	sb.WriteString("}\n")
	return sb.String()
}

func nodeShape(addr string) string {
	switch kind, _, _ := strings.Cut(addr, "."); kind {
	case "var", "local":
		return "note"
	case "output":
		return "oval"
	}
	return "box"
}

// dotQuote quotes an address as a DOT ID (instance keys contain quotes).
func dotQuote(s string) string {
	return `"` + strings.ReplaceAll(strings.ReplaceAll(s, `\`, `\\`), `"`, `\"`) + `"`
}
