package verify

import (
	"encoding/json"
	"strings"
	"testing"
	"time"
)

func TestReportJSONShape(t *testing.T) {
	res := Result{Name: "app-down", Pass: true, Requests: 120, Worst: 35 * time.Millisecond, Recovery: 4 * time.Millisecond, Detail: "stop app.tomcat1"}
	res.finish()
	rep := &Report{Scenarios: []Result{res}}
	var b strings.Builder
	if err := rep.WriteJSON(&b); err != nil {
		t.Fatal(err)
	}
	var got struct {
		Scenarios []map[string]any `json:"scenarios"`
	}
	if err := json.Unmarshal([]byte(b.String()), &got); err != nil {
		t.Fatalf("not JSON: %v\n%s", err, b.String())
	}
	if len(got.Scenarios) != 1 {
		t.Fatalf("got %d scenarios; want 1", len(got.Scenarios))
	}
	want := map[string]any{"name": "app-down", "pass": true, "requests": 120.0, "errors": 0.0,
		"recovery_ms": 4.0, "worst_ms": 35.0, "detail": "stop app.tomcat1"}
	for k, v := range want {
		if got.Scenarios[0][k] != v {
			t.Errorf("%s: got %v; want %v", k, got.Scenarios[0][k], v)
		}
	}
}

func TestReportTable(t *testing.T) {
	rep := &Report{Scenarios: []Result{
		{Name: "sticky", Pass: true, Requests: 26},
		{Name: "network-cut", Pass: true, Skipped: true, Detail: "skipped: lab only"},
		{Name: "host-down", Errors: 2, RecoveryMS: 812, Detail: "2 failed\nrequests"},
	}}
	var b strings.Builder
	if err := rep.WriteTable(&b); err != nil {
		t.Fatal(err)
	}
	lines := strings.Split(b.String(), "\n")
	for i, want := range []string{
		"SCENARIO     PASS  REQUESTS  ERRORS  WORST_MS  RECOVERY_MS  DETAIL",
		"sticky       ok    26        0       0         -            ",
		"network-cut  skip  0         0       0         -            skipped: lab only",
		"host-down    FAIL  0         2       0         812          2 failed requests",
		"",
		"1 of 3 scenarios failed.",
	} {
		if i >= len(lines) || strings.TrimRight(lines[i], " ") != strings.TrimRight(want, " ") {
			t.Errorf("line %d: got %q; want %q\nwhole table:\n%s", i, lines[min(i, len(lines)-1)], want, b.String())
		}
	}
	if rep.Passed() {
		t.Errorf("Passed() = true with a failed scenario; want false")
	}
}

func TestUserIntact(t *testing.T) {
	u := &user{expect: map[string]expectation{
		"a":      {values: []string{"1"}},
		"gone":   {absentOK: true},
		"maybe":  {values: []string{"x"}, absentOK: true},
		"either": {values: []string{"old", "new"}},
	}}
	tests := []struct {
		name  string
		attrs map[string]string
		want  string // "" for intact, else a substring of the complaint
	}{
		{"all there", map[string]string{"a": "1", "either": "new", "extra": "?"}, ""},
		{"uncertain write absent", map[string]string{"a": "1", "either": "old"}, ""},
		{"missing", map[string]string{"either": "old"}, "a missing"},
		{"wrong value", map[string]string{"a": "2", "either": "old"}, `a="2"`},
		{"deleted one back", map[string]string{"a": "1", "either": "old", "gone": "1"}, `gone="1"`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := u.intact(&Session{ID: "s-n1", Server: "tomcat1", Attributes: tt.attrs})
			if tt.want == "" && got != "" || tt.want != "" && !strings.Contains(got, tt.want) {
				t.Errorf("got %q; want %q", got, tt.want)
			}
		})
	}
}
