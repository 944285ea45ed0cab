package e2e

import (
	"context"
	"strings"
	"testing"
)

// TestNonRootUser deploys and destroys the tier as a user who becomes
// root through sudo -n, as on hosts that forbid root logins.
func TestNonRootUser(t *testing.T) {
	tr := newTier(t)
	for _, h := range tr.lab.Hosts {
		if err := tr.lab.AddUser(context.Background(), h.Name, "deploy", true); err != nil {
			t.Fatal(err)
		}
	}
	out := tr.mustRun("apply", "-auto-approve", "-var", "user=deploy")
	if !strings.Contains(out, "Resources: 5 added") {
		t.Fatalf("apply as deploy:\n%s", out)
	}
	if _, err := session(browser()); err != nil {
		t.Fatalf("tier deployed by deploy: %v", err)
	}
	if out := tr.mustRun("plan", "-var", "user=deploy"); !strings.Contains(out, "No changes.") {
		t.Errorf("plan as deploy:\n%s\nwant No changes.", out)
	}
	tr.mustRun("destroy", "-auto-approve", "-var", "user=deploy")
	assertNothingLeft(t, tr)
}
