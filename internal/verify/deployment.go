package verify

import (
	"context"
	"errors"
	"fmt"
)

// Controller changes what runs on the deployment's hosts. *engine.Remote
// provides it (Drift through a small adapter that holds the config).
type Controller interface {
	// Stop stops the agent of the resource at addr ("app.tomcat1").
	Stop(ctx context.Context, addr string) error
	// Start starts it again and returns once it is healthy.
	Start(ctx context.Context, addr string) error
	// Reload makes a proxy re-read its configuration (SIGHUP).
	Reload(ctx context.Context, addr string) error
	// Drift lists what runs on the hosts differently from the state.
	Drift(ctx context.Context) ([]string, error)
}

// NetworkCutter takes a host off the network and puts it back, the way a
// pulled cable or a dead switch port would. Only a lab can do that.
type NetworkCutter interface {
	Cut(ctx context.Context, host string) error
	Restore(ctx context.Context, host string) error
}

// Component is one deployed agent: its resource address, name and host.
type Component struct {
	Addr string // "app.tomcat1"
	Name string // "tomcat1", the server name apps report
	Host string // host name, "server3"
	// Primary, for an app, names the cache nodes it stores new sessions
	// on while they are up (its nodes minus its failover nodes). When set,
	// verify waits after a repair until new sessions land there again.
	Primary []string
}

// Deployment is what verify works against: where users reach the tier,
// what runs where, and the means to break and repair it.
type Deployment struct {
	// URL is the proxy's address as users reach it, "http://172.25.1.2/".
	URL string
	// Route is the name of the proxy's sticky cookie, "route".
	Route string
	// Proxy is the proxy's component; Reload is sent to Proxy.Addr.
	Proxy  Component
	Apps   []Component
	Caches []Component
	// Control stops, starts and reloads agents and reports drift.
	Control Controller
	// Net cuts hosts off the network; nil where that is impossible (the
	// network-cut scenario is then skipped).
	Net NetworkCutter
}

// check reports what makes the deployment unfit for failover proofs.
func (d *Deployment) check() error {
	var errs []error
	if d.URL == "" {
		errs = append(errs, errors.New("no proxy URL"))
	}
	if d.Route == "" {
		errs = append(errs, errors.New("no sticky cookie name"))
	}
	if len(d.Apps) < 2 {
		errs = append(errs, fmt.Errorf("failover needs at least 2 apps behind the proxy; got %d", len(d.Apps)))
	}
	if d.Control == nil {
		errs = append(errs, errors.New("no controller"))
	}
	return errors.Join(errs...)
}

// app returns the app whose server name is name.
func (d *Deployment) app(name string) (Component, bool) {
	for _, a := range d.Apps {
		if a.Name == name {
			return a, true
		}
	}
	return Component{}, false
}

// cache returns the cache node named name.
func (d *Deployment) cache(name string) (Component, bool) {
	for _, c := range d.Caches {
		if c.Name == name {
			return c, true
		}
	}
	return Component{}, false
}

// cachesOn lists the caches on host.
func (d *Deployment) cachesOn(host string) []Component {
	var out []Component
	for _, c := range d.Caches {
		if c.Host == host {
			out = append(out, c)
		}
	}
	return out
}
