package live

import (
	"context"
	"errors"
	"fmt"

	"github.com/stickyform/stickyform/hclspec"
	"github.com/stickyform/stickyform/internal/lab"
	"github.com/stickyform/stickyform/internal/verify"
)

// labNet cuts lab hosts off the lab's bridge.
type labNet struct{ l *lab.Lab }

// LabNet returns network cuts for cfg's hosts when every one of them is a
// host of the lab on this machine, by name and address, and the lab is
// intact (bridge, namespaces, holders); otherwise an error saying why.
// A cut touches only the lab's own links, never a real interface.
func LabNet(cfg *hclspec.Config) (verify.NetworkCutter, error) {
	l, err := lab.Open("")
	if err != nil {
		return nil, err
	}
	if len(cfg.Hosts) == 0 {
		return nil, errors.New("no hosts in the configuration")
	}
	for _, h := range cfg.Hosts {
		lh, err := l.Host(h.Name)
		if err != nil {
			return nil, err
		}
		if lh.Address != h.Address {
			return nil, fmt.Errorf("host %s is %s, but the lab's %s is %s", h.Name, h.Address, lh.Name, lh.Address)
		}
	}
	if err := l.Check(); err != nil {
		return nil, err
	}
	return &labNet{l}, nil
}

// Cut takes host off the network, after checking the lab again.
func (n *labNet) Cut(_ context.Context, host string) error {
	if err := n.l.Check(); err != nil {
		return err
	}
	return n.l.CutHost(host)
}

// Restore puts host back on the network.
func (n *labNet) Restore(_ context.Context, host string) error {
	return n.l.RestoreHost(host)
}
