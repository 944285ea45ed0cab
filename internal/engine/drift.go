package engine

import (
	"fmt"
	"sort"

	"github.com/stickyform/stickyform/internal/supervise"
)

// refreshDrift compares what the host runs with the state: what differs
// and how the agent must be brought back.
func refreshDrift(in planInput, prior *ResourceState, d *Resource) (reasons []string, lifecycle string) {
	hs := in.status[prior.HostName]
	if hs == nil {
		return nil, ""
	}
	role, ok := hs.Roles[prior.RoleName()]
	host := prior.HostName
	switch {
	case !ok || role.ConfigSHA256 == "":
		reasons = append(reasons, fmt.Sprintf("its config file is missing on %s", host))
	case role.ConfigSHA256 != prior.ConfigSHA256:
		reasons = append(reasons, fmt.Sprintf("its config file on %s was changed outside stickyform", host))
	}
	if hs.BinarySHA256 != prior.BinarySHA256 && hs.BinarySHA256 != in.hosts[host].BinarySHA256 {
		reasons = append(reasons, fmt.Sprintf("the stickyform binary on %s was replaced", host))
		lifecycle = "restart"
	}
	switch {
	case !role.Running:
		reasons = append(reasons, fmt.Sprintf("its agent is not running on %s", host))
		if lifecycle == "" {
			lifecycle = "start"
		}
	case !role.Healthy:
		reasons = append(reasons, fmt.Sprintf("its agent on %s does not answer its health check", host))
		lifecycle = "restart"
	case len(reasons) > 0 && lifecycle == "":
		// The config on disk was edited: the agent may run with it.
		lifecycle = "restart"
		if d.Kind == "proxy" {
			lifecycle = "reload"
		}
	}
	return reasons, lifecycle
}

func driftedConfig(in planInput, prior *ResourceState) bool {
	hs := in.status[prior.HostName]
	if hs == nil {
		return false
	}
	return hs.Roles[prior.RoleName()].ConfigSHA256 != prior.ConfigSHA256
}

// createLifecycle is how a new resource starts. An agent may already run
// there (an apply killed before it saved state): then it is restarted
// when its config differs.
func createLifecycle(in planInput, d *Resource) string {
	hs := in.status[d.Host.Name]
	if hs == nil {
		return "start"
	}
	role, ok := hs.Roles[d.RoleName()]
	if ok && role.Running && (role.ConfigSHA256 != d.ConfigSHA256 || hs.BinarySHA256 != in.hosts[d.Host.Name].BinarySHA256 || !role.Healthy) {
		return "restart"
	}
	return "start"
}

// unmanaged lists roles found on refreshed hosts that neither the state
// nor the configuration knows: another deployment's, or left by an apply
// killed before it saved state. stickyform never removes what it does not
// know it made; the plan warns about them instead.
func unmanaged(in planInput, known map[string]bool) []string {
	var out []string
	for hostName, hs := range in.status {
		for name, role := range hs.Roles {
			kind, _ := supervise.Kind(name)
			if known[kind+"."+name[len(kind)+1:]] {
				continue
			}
			state := "stopped"
			if role.Running {
				state = "running"
			}
			out = append(out, fmt.Sprintf("%s on %s (%s) is not managed by this configuration or its state; it is left alone. "+
				"Remove it with: stickyform agent ctl remove %s (on that host)", name, hostName, state, name))
		}
	}
	sort.Strings(out)
	return out
}
