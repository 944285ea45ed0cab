package sessions

import (
	"fmt"
	"net"
	"strconv"
	"strings"
)

// NodeSpec is one memcached node as configured: its id (the suffix of the
// session ids it stores) and its address.
type NodeSpec struct {
	ID       string
	Addr     string // host:port
	Failover bool   // used only when no other node is up
}

// ParseNodes reads memcached-session-manager's formats: nodes is
// "n1:host:port n2:host:port" (separated by spaces or commas; IPv6 hosts in
// brackets), failover is "n1" or "n1 n2" / "n1,n2" and must name nodes of
// the list.
func ParseNodes(nodes, failover string) ([]NodeSpec, error) {
	var specs []NodeSpec
	seen := map[string]bool{}
	for _, f := range fields(nodes) {
		id, addr, ok := strings.Cut(f, ":")
		if !ok || !validNodeID(id) {
			return nil, fmt.Errorf("parse nodes: %q: want id:host:port with an id of letters, digits, '_' or '-'", f)
		}
		host, port, err := net.SplitHostPort(addr)
		if err != nil || host == "" {
			return nil, fmt.Errorf("parse nodes: %q: want id:host:port", f)
		}
		if n, err := strconv.Atoi(port); err != nil || n < 1 || n > 65535 {
			return nil, fmt.Errorf("parse nodes: %q: bad port %q", f, port)
		}
		if seen[id] {
			return nil, fmt.Errorf("parse nodes: node id %q given twice", id)
		}
		seen[id] = true
		specs = append(specs, NodeSpec{ID: id, Addr: addr})
	}
	if len(specs) == 0 {
		return nil, fmt.Errorf("parse nodes: no nodes given (want \"n1:host:port n2:host:port\")")
	}
	fo := fields(failover)
	for _, id := range fo {
		if !seen[id] {
			return nil, fmt.Errorf("parse nodes: failover node %q is not in the node list", id)
		}
		for i := range specs {
			if specs[i].ID == id {
				specs[i].Failover = true
			}
		}
	}
	// When every node is a failover node (one cache on the app's own host,
	// where the HCL default makes it the failover node) they are simply
	// all used: failover nodes serve whenever no regular node is up.
	return specs, nil
}

func fields(s string) []string {
	return strings.FieldsFunc(s, func(r rune) bool { return r == ' ' || r == ',' || r == '\t' || r == '\n' })
}
