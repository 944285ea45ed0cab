package proxy

import (
	"os/exec"
	"strings"
	"testing"
)

// TestDeps holds the line of DESIGN.md: agents stay small and import no HCL,
// no SSH and nothing of the engine (internal/ except internal/version).
func TestDeps(t *testing.T) {
	out, err := exec.Command("go", "list", "-deps", ".").CombinedOutput()
	if err != nil {
		t.Fatalf("go list -deps: %v\n%s", err, out)
	}
	for _, dep := range strings.Fields(string(out)) {
		bad := strings.Contains(dep, "hashicorp/hcl") || strings.HasPrefix(dep, "golang.org/x/crypto/ssh") ||
			(strings.HasPrefix(dep, "github.com/stickyform/stickyform/") &&
				!strings.HasPrefix(dep, "github.com/stickyform/stickyform/agents/proxy") &&
				dep != "github.com/stickyform/stickyform/agents/agentconfig" &&
				dep != "github.com/stickyform/stickyform/internal/version")
		if bad {
			t.Errorf("agents/proxy depends on %s", dep)
		}
	}
}
