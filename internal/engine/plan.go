package engine

import (
	"sort"
	"time"
)

// Action is what a plan does to one resource.
type Action string

// Actions, with Terraform's symbols.
const (
	NoOp    Action = "no-op"
	Create  Action = "create"  // +
	Update  Action = "update"  // ~
	Replace Action = "replace" // -/+
	Delete  Action = "delete"  // -
)

// planFormat is the version of saved plan files.
const planFormat = 1

// Plan is the difference between the configuration and what runs, and
// what apply will do about it. It is self-contained (hosts, configs,
// outputs), so a saved plan applies without the configuration.
type Plan struct {
	Format  int    `json:"format_version"`
	Lineage string `json:"lineage"`
	Serial  int    `json:"serial"`
	Destroy bool   `json:"destroy,omitempty"`
	// Changes lists every resource, in apply order, no-ops included.
	Changes []*Change              `json:"changes"`
	Hosts   map[string]*HostPlan   `json:"hosts"`
	Outputs map[string]OutputState `json:"outputs,omitempty"`
	// Targets limits the plan (-target), recorded for the saved plan.
	Targets []string `json:"targets,omitempty"`
	// Partial is set when Targets left changes out: outputs are not
	// updated by such an apply.
	Partial bool `json:"partial,omitempty"`
	// Warnings are things the operator should know that the plan does
	// not act on.
	Warnings []string `json:"warnings,omitempty"`
}

// HostPlan is what apply does to a host as a whole.
type HostPlan struct {
	Host   *HostState `json:"host"`
	Arch   string     `json:"arch"`
	Binary string     `json:"binary"` // local build to upload
	// BinarySHA256 is the hash of Binary; RemoteBinarySHA256 what the
	// host has now ("" for none, unknown without refresh).
	BinarySHA256       string `json:"binary_sha256"`
	RemoteBinarySHA256 string `json:"remote_binary_sha256"`
	Systemd            bool   `json:"systemd"`
	// Purge removes stickyform's layout from the host once its last
	// resource is gone.
	Purge bool `json:"purge,omitempty"`
}

// Change is the plan for one resource.
type Change struct {
	Addr   string         `json:"addr"`
	Kind   string         `json:"kind"`
	Name   string         `json:"name"`
	Action Action         `json:"action"`
	Before *ResourceState `json:"before,omitempty"`
	After  *Resource      `json:"after,omitempty"`
	Attrs  []AttrChange   `json:"attrs,omitempty"`
	// Unchanged counts the attributes an update leaves alone.
	Unchanged int `json:"unchanged,omitempty"`
	// Reasons say why, beyond attributes: drift seen on the host, what
	// forces a replacement.
	Reasons []string `json:"reasons,omitempty"`
	// What apply does on the host: write the config, then start,
	// restart or reload the agent.
	WriteConfig bool   `json:"write_config,omitempty"`
	Lifecycle   string `json:"lifecycle,omitempty"` // "start", "restart" or "reload"
}

// AttrChange is one attribute's old and new value (JSON literals; "" for
// absent).
type AttrChange struct {
	Name          string `json:"name"`
	Old           string `json:"old,omitempty"`
	New           string `json:"new,omitempty"`
	ForcesReplace bool   `json:"forces_replace,omitempty"`
}

// Counts returns Terraform's summary figures.
func (p *Plan) Counts() (add, change, destroy int) {
	for _, c := range p.Changes {
		switch c.Action {
		case Create:
			add++
		case Update:
			change++
		case Replace:
			add++
			destroy++
		case Delete:
			destroy++
		}
	}
	return add, change, destroy
}

// HasChanges reports whether applying the plan would do anything.
func (p *Plan) HasChanges() bool {
	a, c, d := p.Counts()
	return a+c+d > 0
}

// ChangedAddrs lists the addresses the plan would change.
func (p *Plan) ChangedAddrs() []string {
	var out []string
	for _, c := range p.Changes {
		if c.Action != NoOp {
			out = append(out, c.Addr)
		}
	}
	return out
}

// planInput is everything a plan is computed from.
type planInput struct {
	desired []*Resource
	state   *State
	// status is refresh's answer per host name; nil without refresh.
	status map[string]*hostStatus
	hosts  map[string]*HostPlan
}

// makePlan diffs desired against state and the refreshed hosts.
func makePlan(in planInput) *Plan {
	p := &Plan{Format: planFormat, Lineage: in.state.Lineage, Serial: in.state.Serial, Hosts: in.hosts}
	seen := map[string]bool{}
	for _, d := range in.desired {
		seen[d.Addr] = true
		p.Changes = append(p.Changes, planResource(in, in.state.Resource(d.Addr), d))
	}
	for _, r := range in.state.Resources {
		if !seen[r.Addr] {
			seen[r.Addr] = true
			p.Changes = append(p.Changes, planResource(in, r, nil))
		}
	}
	p.Warnings = unmanaged(in, seen)
	for name, hp := range p.Hosts {
		hp.Purge = hasDeletes(p, name) && !hostWanted(in.desired, name)
	}
	sortChanges(p.Changes)
	return p
}

func planResource(in planInput, prior *ResourceState, d *Resource) *Change {
	switch {
	case d == nil:
		return &Change{Addr: prior.Addr, Kind: prior.Kind, Name: prior.Name, Action: Delete, Before: prior,
			Attrs: attrDiff(prior, nil, "", "")}
	case prior == nil:
		c := &Change{Addr: d.Addr, Kind: d.Kind, Name: d.Name, Action: Create, After: d, WriteConfig: true}
		c.Attrs = attrDiff(nil, d, "", in.hosts[d.Host.Name].BinarySHA256)
		c.Lifecycle = createLifecycle(in, d)
		return c
	}
	hp := in.hosts[d.Host.Name]
	c := &Change{Addr: d.Addr, Kind: d.Kind, Name: d.Name, Before: prior, After: d}
	c.Attrs = attrDiff(prior, d, prior.BinarySHA256, hp.BinarySHA256)
	switch {
	case prior.HostName != d.Host.Name || prior.HostAddress != d.Host.Address:
		c.Action, c.Reasons = Replace, []string{"the host changed"}
	case prior.Listen != d.Listen:
		c.Action, c.Reasons = Replace, []string{"the listen address changed"}
	}
	if c.Action == Replace {
		c.WriteConfig, c.Lifecycle = true, "start"
		markForcing(c.Attrs)
		return c
	}
	drift, lifecycle := refreshDrift(in, prior, d)
	c.Reasons = drift
	c.WriteConfig = prior.ConfigSHA256 != d.ConfigSHA256 || driftedConfig(in, prior)
	binaryChanged := prior.BinarySHA256 != hp.BinarySHA256
	switch {
	case binaryChanged:
		lifecycle = "restart"
	case c.WriteConfig && d.Kind == "proxy" && lifecycle == "":
		lifecycle = "reload"
	case c.WriteConfig && lifecycle == "":
		lifecycle = "restart"
	}
	c.Lifecycle = lifecycle
	c.Unchanged = len(flattenConfig(d.Config)) + 2 - len(c.Attrs)
	if lifecycle != "" || c.WriteConfig || len(c.Attrs) > 0 {
		c.Action = Update
	} else {
		c.Action = NoOp
	}
	return c
}

func hasDeletes(p *Plan, host string) bool {
	for _, c := range p.Changes {
		if (c.Action == Delete || c.Action == Replace) && c.Before.HostName == host {
			return true
		}
	}
	return false
}

func hostWanted(desired []*Resource, host string) bool {
	for _, d := range desired {
		if d.Host.Name == host {
			return true
		}
	}
	return false
}

// kindRank is the dependency order of kinds: hosts → caches → apps → proxies.
func kindRank(kind string) int {
	switch kind {
	case "cache":
		return 0
	case "app":
		return 1
	}
	return 2
}

func sortChanges(cs []*Change) {
	sort.SliceStable(cs, func(i, j int) bool {
		if ri, rj := kindRank(cs[i].Kind), kindRank(cs[j].Kind); ri != rj {
			return ri < rj
		}
		return cs[i].Addr < cs[j].Addr
	})
}

// elapsedString formats a duration as Terraform does: "10s", "1m5s".
func elapsedString(d time.Duration) string {
	return d.Round(time.Second).String()
}
