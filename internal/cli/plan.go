package cli

import (
	"encoding/json"
	"fmt"

	"github.com/stickyform/stickyform/internal/engine"
)

// runPlan is `stickyform plan`: refresh, diff, print; -out saves the plan.
func runPlan(e *env, args []string) error {
	fs := newFlagSet(e, "plan", "plan [options]")
	var cf configFlags
	cf.register(fs)
	var rf runFlags
	rf.register(fs)
	out := fs.String("out", "", "save the plan to this file, for `stickyform apply FILE`")
	jsonOut := fs.Bool("json", false, "print the plan as JSON")
	detailed := fs.Bool("detailed-exitcode", false, "exit 0 with no changes, 1 on error, 2 with changes")
	destroy := fs.Bool("destroy", false, "plan to destroy everything in the state")
	if err := parseFlags(fs, args); err != nil {
		return err
	}
	if fs.NArg() > 0 {
		return fmt.Errorf("plan: unexpected argument %q", fs.Arg(0))
	}
	eng, p, err := makePlan(e, &cf, &rf, "plan", *destroy)
	if err != nil {
		return err
	}
	defer eng.Close()
	if *out != "" {
		if err := engine.SavePlan(*out, p); err != nil {
			return err
		}
	}
	if *jsonOut {
		enc := json.NewEncoder(e.stdout)
		enc.SetIndent("", "  ")
		if err := enc.Encode(p.Redacted()); err != nil {
			return err
		}
	} else {
		engine.RenderPlan(e.stdout, p)
		if *out != "" {
			fmt.Fprintf(e.stdout, "\nSaved the plan to: %s\n\nTo perform exactly these actions, run:\n  stickyform apply %s\n", *out, *out)
		}
	}
	if *detailed && p.HasChanges() {
		return &ExitError{Code: 2}
	}
	return nil
}

// makePlan opens the engine (taking the state lock) and plans; on success
// the caller closes the engine.
func makePlan(e *env, cf *configFlags, rf *runFlags, op string, destroy bool) (*engine.Engine, *engine.Plan, error) {
	var eng *engine.Engine
	var err error
	var p *engine.Plan
	if destroy {
		if eng, err = engine.Open(e.ctx, rf.options(e, op)); err != nil {
			return nil, nil, err
		}
		p, err = eng.PlanDestroy(e.ctx)
	} else {
		cfg, lerr := loadConfig(e, cf)
		if lerr != nil {
			return nil, nil, lerr
		}
		if eng, err = engine.Open(e.ctx, rf.options(e, op)); err != nil {
			return nil, nil, err
		}
		p, err = eng.Plan(e.ctx, cfg)
	}
	if err != nil {
		eng.Close()
		return nil, nil, err
	}
	return eng, p, nil
}
