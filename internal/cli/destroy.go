package cli

// runDestroy is `stickyform destroy`: stop and remove everything the
// state records, in reverse dependency order.
func runDestroy(e *env, args []string) error {
	fs := newFlagSet(e, "destroy", "destroy [options]")
	var cf configFlags
	cf.register(fs) // accepted for symmetry with apply; destroy works from the state
	var rf runFlags
	rf.register(fs)
	autoApprove := fs.Bool("auto-approve", false, "destroy without asking for confirmation")
	if err := parseFlags(fs, args); err != nil {
		return err
	}
	return planAndApply(e, &cf, &rf, *autoApprove, true)
}
