package engine

import (
	"context"

	"github.com/stickyform/stickyform/provisioner"
)

// dialSSH connects to a host with the provisioner.
func dialSSH(ctx context.Context, h *HostState, trustNewHosts bool) (conn, error) {
	t := provisioner.Target{Name: h.Name, Address: h.Address, Port: h.Port, User: h.User,
		IdentityFile: h.IdentityFile, KnownHosts: h.KnownHosts, HostKey: h.HostKey}
	c, err := provisioner.Dial(ctx, t, provisioner.Options{TrustNewHosts: trustNewHosts})
	if err != nil {
		return nil, err
	}
	return c, nil
}
