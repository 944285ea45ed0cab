package cli

import (
	"strings"
	"testing"
)

func TestGraph(t *testing.T) {
	stdout, stderr, code := run(t, "", "-chdir=../../examples/classic", "graph")
	if code != 0 {
		t.Fatalf("graph: exit %d: %s", code, stderr)
	}
	if !strings.HasPrefix(stdout, "digraph {") || !strings.HasSuffix(stdout, "}\n") {
		t.Errorf("got %q; want a DOT digraph", stdout)
	}
	for _, tc := range []struct {
		edge string
		want bool
	}{
		{`"proxy.lb" -> "app.tomcat1"`, true},
		{`"app.tomcat1" -> "cache.n2"`, true},
		{`"cache.n1" -> "host.server3"`, true},
		{`"output.url" -> "host.server2"`, true},
		{`"host.server2" -> "var.proxy_address"`, true},
		{`"app.tomcat1" -> "proxy.lb"`, false}, // edges go from dependent to dependency
		{`"host.server3" -> "cache.n1"`, false},
	} {
		if got := strings.Contains(stdout, tc.edge+"\n"); got != tc.want {
			t.Errorf("edge %s: got %v; want %v", tc.edge, got, tc.want)
		}
	}
	stdout, _, _ = run(t, "", "-chdir=../../examples/large", "graph", "-resources")
	if strings.Contains(stdout, "var.") || !strings.Contains(stdout, `"app.web[\"server7\"]" -> "cache.n[\"server8\"]"`) {
		t.Errorf("got %s; want only resources, with instance edges", stdout)
	}
	if _, stderr, code := run(t, "", "-chdir="+classicCopy(t, "app.tomcat2]", "app.tomcat9]"), "graph"); code != 1 || !strings.Contains(stderr, "tomcat9") {
		t.Errorf("got exit %d, %q for a broken config; want 1 and the diagnostic", code, stderr)
	}
}
