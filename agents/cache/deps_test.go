package cache

import (
	"os/exec"
	"strings"
	"testing"
)

// TestDeps keeps the agent small: it must not pull in the HCL language,
// SSH, or stickyform's internals (other than the version stamp).
func TestDeps(t *testing.T) {
	goBin, err := exec.LookPath("go")
	if err != nil {
		t.Skip("go tool not in PATH")
	}
	out, err := exec.Command(goBin, "list", "-deps", ".").CombinedOutput()
	if err != nil {
		t.Fatalf("go list -deps: %v\n%s", err, out)
	}
	const internal = "github.com/stickyform/stickyform/internal/"
	for _, pkg := range strings.Fields(string(out)) {
		switch {
		case strings.Contains(pkg, "hashicorp/hcl"),
			strings.HasPrefix(pkg, "golang.org/x/crypto/ssh"),
			strings.HasPrefix(pkg, internal) && pkg != internal+"version",
			strings.HasPrefix(pkg, "github.com/stickyform/stickyform/") && !strings.HasPrefix(pkg, "github.com/stickyform/stickyform/agents/cache") && !strings.HasPrefix(pkg, internal) && pkg != "github.com/stickyform/stickyform/agents/agentconfig":
			t.Errorf("agents/cache depends on %s; want no HCL, SSH, engine or internal packages", pkg)
		}
	}
}
