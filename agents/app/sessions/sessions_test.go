package sessions

import (
	"strings"
	"testing"
)

func TestSplitID(t *testing.T) {
	hex := strings.Repeat("0f", 16)
	for _, tc := range []struct {
		name, id, wantNode string
		wantOK             bool
	}{
		{"plain", hex + "-n2", "n2", true},
		{"dash in node id", hex + "-cache-b", "cache-b", true},
		{"fresh", newID("n1"), "n1", true},
		{"no node", hex + "-", "", false},
		{"no dash", hex + "n2", "", false},
		{"uppercase", strings.ToUpper(hex) + "-n2", "", false},
		{"short", "0f0f-n2", "", false},
		{"space", hex + "-n 2", "", false},
		{"crlf", hex + "-n2\r\nflush_all", "", false},
		{"overlong node", hex + "-" + strings.Repeat("n", 65), "", false},
		{"node starts with dash", hex + "--n2", "", false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			node, ok := splitID(tc.id)
			if node != tc.wantNode || ok != tc.wantOK {
				t.Errorf("splitID(%q) = %q, %v; want %q, %v", tc.id, node, ok, tc.wantNode, tc.wantOK)
			}
		})
	}
	if a, b := newID("n1"), newID("n1"); a == b {
		t.Errorf("two new ids are equal: %s", a)
	}
}

func TestParseNodes(t *testing.T) {
	for _, tc := range []struct {
		name, nodes, failover string
		want                  string // "id=addr[F] ..." or "error: substring"
	}{
		{"spaces", "n1:127.0.0.1:11211 n2:127.0.0.1:11212", "n1", "n1=127.0.0.1:11211F n2=127.0.0.1:11212"},
		{"commas", "n1:a:1,n2:b:2", "", "n1=a:1 n2=b:2"},
		{"ipv6", "n1:[::1]:11211", "", "n1=[::1]:11211"},
		{"failover list", "n1:a:1 n2:b:2 n3:c:3", "n1,n2", "n1=a:1F n2=b:2F n3=c:3"},
		{"empty", "", "", "error: no nodes"},
		{"duplicate", "n1:a:1 n1:b:2", "", "error: twice"},
		{"bad port", "n1:a:99999", "", "error: bad port"},
		{"unknown failover", "n1:a:1", "n2", "error: not in the node list"},
		{"only failover", "n1:a:1", "n1", "n1=a:1F"},
		{"bad id", "n/1:a:1", "", "error: id:host:port"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			specs, err := ParseNodes(tc.nodes, tc.failover)
			var got string
			if err != nil {
				got = "error: " + err.Error()
			} else {
				var parts []string
				for _, s := range specs {
					p := s.ID + "=" + s.Addr
					if s.Failover {
						p += "F"
					}
					parts = append(parts, p)
				}
				got = strings.Join(parts, " ")
			}
			if strings.HasPrefix(tc.want, "error: ") {
				if !strings.HasPrefix(got, "error: ") || !strings.Contains(got, strings.TrimPrefix(tc.want, "error: ")) {
					t.Errorf("got %q; want %s", got, tc.want)
				}
			} else if got != tc.want {
				t.Errorf("got %q; want %q", got, tc.want)
			}
		})
	}
}

// TestDiffMerge: a request's change applied to a newer copy keeps the
// other writer's keys: the attribute-level merge of non-sticky mode.
func TestDiffMerge(t *testing.T) {
	orig := map[string]string{"a": "1", "b": "2", "c": "3"}
	mine := map[string]string{"a": "1", "b": "20", "d": "4"}             // set b, add d, delete c
	theirs := map[string]string{"a": "10", "b": "2", "c": "3", "e": "5"} // meanwhile stored
	diff(orig, mine).applyTo(theirs)
	want := map[string]string{"a": "10", "b": "20", "d": "4", "e": "5"}
	if len(theirs) != len(want) {
		t.Fatalf("got %v; want %v", theirs, want)
	}
	for k, v := range want {
		if theirs[k] != v {
			t.Errorf("got %s=%q; want %q (merged %v)", k, theirs[k], v, theirs)
		}
	}
}

func TestCodecRoundTrip(t *testing.T) {
	id := newID("n1")
	s := &Session{ID: id, Node: "n1", Attributes: map[string]string{"k": "v ü"}, Version: 7}
	got, err := decode(encode(s), id)
	if err != nil || got.Attributes["k"] != "v ü" || got.Version != 7 || got.Node != "n1" {
		t.Fatalf("got %+v, %v; want the session back", got, err)
	}
	if _, err := decode(encode(s), newID("n1")); err == nil {
		t.Error("decode accepted a value stored under another id")
	}
}
