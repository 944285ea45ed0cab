package engine

import (
	"fmt"
	"io"
	"strings"
)

// RenderPlan writes the plan in Terraform's look: a legend, one block per
// changed resource with its attribute diffs, and the summary line; "No
// changes." when there is nothing to do.
func RenderPlan(w io.Writer, p *Plan) {
	defer renderWarnings(w, p.Warnings)
	if !p.HasChanges() {
		fmt.Fprint(w, "No changes. Your infrastructure matches the configuration.\n\n"+
			"stickyform compared the configuration with what runs on the hosts and found no differences.\n")
		return
	}
	fmt.Fprint(w, "stickyform will perform the following actions:\n\n")
	for _, c := range p.Changes {
		if c.Action != NoOp {
			renderChange(w, c)
		}
	}
	fmt.Fprint(w, Summary(p), "\n")
}

// Summary is the plan's summary line.
func Summary(p *Plan) string {
	add, change, destroy := p.Counts()
	verb := "Plan"
	if p.Destroy {
		verb = "Plan (destroy)"
	}
	return fmt.Sprintf("%s: %d to add, %d to change, %d to destroy.", verb, add, change, destroy)
}

// actionHead returns an action's symbol and its phrase.
func actionHead(a Action) (symbol, verb string) {
	switch a {
	case Create:
		return "  +", "will be created"
	case Update:
		return "  ~", "will be updated in-place"
	case Replace:
		return "-/+", "must be replaced"
	}
	return "  -", "will be destroyed"
}

func renderChange(w io.Writer, c *Change) {
	symbol, verb := actionHead(c.Action)
	fmt.Fprintf(w, "  # %s %s\n", c.Addr, verb)
	for _, r := range c.Reasons {
		fmt.Fprintf(w, "  # (%s)\n", r)
	}
	fmt.Fprintf(w, "%s %s %q {\n", symbol, c.Kind, c.Name)
	width := 0
	for _, a := range c.Attrs {
		width = max(width, len(a.Name))
	}
	for _, a := range c.Attrs {
		fmt.Fprintf(w, "      %s\n", renderAttr(c.Action, a, width))
	}
	if c.Action == Update && c.Unchanged > 0 {
		fmt.Fprintf(w, "        # (%d unchanged attributes hidden)\n", c.Unchanged)
	}
	fmt.Fprint(w, "    }\n\n")
}

func renderAttr(action Action, a AttrChange, width int) string {
	name := a.Name + strings.Repeat(" ", width-len(a.Name))
	var s string
	switch {
	case a.Old == "":
		s = fmt.Sprintf("+ %s = %s", name, a.New)
	case a.New == "":
		s = fmt.Sprintf("- %s = %s", name, a.Old)
		if action != Delete {
			s += " -> null"
		}
	default:
		s = fmt.Sprintf("~ %s = %s -> %s", name, a.Old, a.New)
	}
	if a.ForcesReplace {
		s += " # forces replacement"
	}
	return s
}

func renderWarnings(w io.Writer, warnings []string) {
	for _, msg := range warnings {
		fmt.Fprintf(w, "\nWarning: %s\n", msg)
	}
}
