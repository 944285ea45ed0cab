package cli

import (
	"errors"
	"fmt"

	"github.com/stickyform/stickyform/internal/engine"
)

// runApply is `stickyform apply [FILE]`: plan (or load a saved plan),
// confirm, carry it out, print the outputs.
func runApply(e *env, args []string) error {
	fs := newFlagSet(e, "apply", "apply [options] [PLANFILE]")
	var cf configFlags
	cf.register(fs)
	var rf runFlags
	rf.register(fs)
	autoApprove := fs.Bool("auto-approve", false, "apply without asking for confirmation")
	destroy := fs.Bool("destroy", false, "destroy everything, as `stickyform destroy`")
	pos, err := parseInterspersed(fs, args)
	if err != nil {
		return err
	}
	switch len(pos) {
	case 0:
		return planAndApply(e, &cf, &rf, *autoApprove, *destroy)
	case 1:
		return applySaved(e, &rf, pos[0])
	}
	return fmt.Errorf("apply: want at most one plan file, got %q", pos)
}

// planAndApply is apply and destroy without a saved plan.
func planAndApply(e *env, cf *configFlags, rf *runFlags, autoApprove, destroy bool) error {
	op := "apply"
	if destroy {
		op = "destroy"
	}
	eng, p, err := makePlan(e, cf, rf, op, destroy)
	if err != nil {
		return err
	}
	defer eng.Close()
	engine.RenderPlan(e.stdout, p)
	if !p.HasChanges() && !destroy {
		return doApply(e, eng, p) // records changed outputs, prints them
	}
	if !p.HasChanges() {
		fmt.Fprint(e.stdout, "\nDestroy complete! Resources: 0 destroyed.\n")
		return nil
	}
	if !autoApprove {
		question, detail := "\nDo you want to perform these actions?", "stickyform will perform the actions described above."
		if destroy {
			question, detail = "\nDo you really want to destroy all resources?", "stickyform will destroy all your managed agents, as shown above.\n  There is no undo."
		}
		if !confirm(e, question, detail) {
			word := "Apply"
			if destroy {
				word = "Destroy"
			}
			fmt.Fprintf(e.stdout, "%s cancelled.\n", word)
			return errReported
		}
	} else {
		fmt.Fprintln(e.stdout)
	}
	return doApply(e, eng, p)
}

// applySaved applies a plan saved by `plan -out`, without asking.
func applySaved(e *env, rf *runFlags, file string) error {
	p, err := engine.LoadPlan(file)
	if err != nil {
		return err
	}
	op := "apply"
	if p.Destroy {
		op = "destroy"
	}
	eng, err := engine.Open(e.ctx, rf.options(e, op))
	if err != nil {
		return err
	}
	defer eng.Close()
	return doApply(e, eng, p)
}

func doApply(e *env, eng *engine.Engine, p *engine.Plan) error {
	res, err := eng.Apply(e.ctx, p)
	if errors.Is(err, engine.ErrStalePlan) {
		return err
	}
	if err != nil {
		fmt.Fprintf(e.stdout, "\nApply failed after: %d added, %d changed, %d destroyed. The state records what was done; run apply again.\n", res.Added, res.Changed, res.Destroyed)
		return err
	}
	if p.Destroy {
		fmt.Fprintf(e.stdout, "\nDestroy complete! Resources: %d destroyed.\n", res.Destroyed)
		return nil
	}
	fmt.Fprintf(e.stdout, "\nApply complete! Resources: %d added, %d changed, %d destroyed.\n", res.Added, res.Changed, res.Destroyed)
	if outs := eng.State().Outputs; len(outs) > 0 {
		fmt.Fprint(e.stdout, "\nOutputs:\n\n")
		printOutputs(e.stdout, outs)
	}
	return nil
}
