package verify

import (
	"context"
	"errors"
	"slices"
	"strings"
	"testing"
	"time"
)

// quick keeps unit runs short; the figures are not under test here.
func quick(scenarios ...string) Options {
	return Options{Duration: 300 * time.Millisecond, Users: 2, SettleTimeout: 10 * time.Second, Scenarios: scenarios}
}

func TestRunPassesOnWorkingTier(t *testing.T) {
	ft, d := newFakeTier(t, tierOptions{shared: true})
	rep, err := Run(context.Background(), d, quick())
	if err != nil {
		t.Fatalf("Run: %v", err)
	}
	var table strings.Builder
	rep.WriteTable(&table)
	t.Logf("report:\n%s", table.String())
	var got []string
	for _, s := range rep.Scenarios {
		got = append(got, s.Name)
		if !s.Pass || s.Skipped {
			t.Errorf("%s: pass=%v skipped=%v detail=%q; want a pass", s.Name, s.Pass, s.Skipped, s.Detail)
		}
		if s.Name != "recovery" && s.Requests == 0 {
			t.Errorf("%s: got 0 requests; want the stream's and the probe's", s.Name)
		}
	}
	if want := Scenarios(); !slices.Equal(got, want) {
		t.Errorf("scenarios run: got %v; want %v", got, want)
	}
	for _, name := range []string{"app-down", "cache-down", "host-down", "network-cut"} {
		if r := result(rep, name); r.RecoveryMS <= 0 {
			t.Errorf("%s: recovery_ms = %d; want > 0 for a fault scenario", name, r.RecoveryMS)
		}
	}
	assertRepaired(t, ft)
}

// assertRepaired checks that every stop and cut was undone, later.
func assertRepaired(t *testing.T, ft *fakeTier) {
	t.Helper()
	calls := ft.log()
	for i, c := range calls {
		verb, what, _ := strings.Cut(c, " ")
		undo := map[string]string{"stop": "start", "cut": "restore"}[verb]
		if undo != "" && !slices.Contains(calls[i+1:], undo+" "+what) {
			t.Errorf("%q was never undone; calls: %v", c, calls)
		}
	}
	if drift, _ := ft.Drift(context.Background()); len(drift) > 0 {
		t.Errorf("after the run: drift %v; want none", drift)
	}
}

func result(rep *Report, name string) Result {
	for _, s := range rep.Scenarios {
		if s.Name == name {
			return s
		}
	}
	return Result{}
}

func TestRunCatchesBrokenTier(t *testing.T) {
	tests := []struct {
		name     string
		tier     tierOptions
		scenario string
		want     func(Result) bool
	}{
		{"sessions in app memory only: app-down loses them", tierOptions{shared: false}, "app-down",
			func(r Result) bool { return r.Lost > 0 || strings.Contains(r.Detail, "lost") }},
		{"sessions in app memory only: host-down loses them", tierOptions{shared: false}, "host-down",
			func(r Result) bool { return strings.Contains(r.Detail, "lost") }},
		{"proxy that does not retry: app-down sees failed requests", tierOptions{shared: true, noRetry: true}, "app-down",
			func(r Result) bool { return r.Errors > 0 }},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			ft, d := newFakeTier(t, tt.tier)
			rep, err := Run(context.Background(), d, quick(tt.scenario))
			if err != nil {
				t.Fatalf("Run: %v", err)
			}
			r := result(rep, tt.scenario)
			if r.Pass || !tt.want(r) {
				t.Errorf("got pass=%v errors=%d lost=%d detail=%q; want a failure showing the breakage", r.Pass, r.Errors, r.Lost, r.Detail)
			}
			if rep.Passed() {
				t.Errorf("Report.Passed() = true; want false")
			}
			assertRepaired(t, ft)
		})
	}
}

func TestRunRestoresWhenInterrupted(t *testing.T) {
	ft, d := newFakeTier(t, tierOptions{shared: true})
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	ft.block = "app." // whichever app is sticky, its Stop hangs until Ctrl-C
	go func() {
		for !slices.ContainsFunc(ft.log(), func(c string) bool { return strings.HasPrefix(c, "stop ") }) {
			time.Sleep(10 * time.Millisecond)
		}
		cancel()
	}()
	o := quick("app-down")
	o.Duration = time.Minute // only the interruption ends it
	_, err := Run(ctx, d, o)
	if !errors.Is(err, context.Canceled) {
		t.Errorf("Run: got %v; want an interruption error", err)
	}
	stops := slices.DeleteFunc(ft.log(), func(c string) bool { return !strings.HasPrefix(c, "stop ") })
	if len(stops) == 0 {
		t.Fatalf("no stop was issued; calls: %v", ft.log())
	}
	assertRepaired(t, ft)
}

func TestRecoveryReportsDrift(t *testing.T) {
	ft, d := newFakeTier(t, tierOptions{shared: true})
	ft.drift = []string{"app.tomcat2: config hash differs"}
	rep, err := Run(context.Background(), d, quick("recovery"))
	if err != nil {
		t.Fatalf("Run: %v", err)
	}
	r := result(rep, "recovery")
	if r.Pass || !strings.Contains(r.Detail, "config hash differs") {
		t.Errorf("got pass=%v detail=%q; want a failure naming the drift", r.Pass, r.Detail)
	}
}

func TestRunRejects(t *testing.T) {
	tests := []struct {
		name string
		edit func(*Deployment, *Options)
		want string
	}{
		{"unknown scenario", func(_ *Deployment, o *Options) { o.Scenarios = []string{"chaos"} }, `unknown scenario "chaos"`},
		{"one app", func(d *Deployment, _ *Options) { d.Apps = d.Apps[:1] }, "at least 2 apps"},
		{"no controller", func(d *Deployment, _ *Options) { d.Control = nil }, "no controller"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			d := &Deployment{URL: "http://127.0.0.1:1/", Route: "route", Control: &fakeTier{},
				Apps: []Component{{Name: "a"}, {Name: "b"}}}
			o := Options{}
			tt.edit(d, &o)
			_, err := Run(context.Background(), d, o)
			if err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Errorf("got %v; want an error containing %q", err, tt.want)
			}
		})
	}
}

func TestNetworkCutSkippedWithoutCutter(t *testing.T) {
	_, d := newFakeTier(t, tierOptions{shared: true})
	d.Net = nil
	rep, err := Run(context.Background(), d, quick("network-cut"))
	if err != nil {
		t.Fatalf("Run: %v", err)
	}
	r := result(rep, "network-cut")
	if !r.Skipped || !r.Pass {
		t.Errorf("got skipped=%v pass=%v detail=%q; want a skip", r.Skipped, r.Pass, r.Detail)
	}
}

func TestFailoverFigures(t *testing.T) {
	ft, d := newFakeTier(t, tierOptions{shared: true})
	r, err := Failover(context.Background(), d, quick())
	if err != nil {
		t.Fatalf("Failover: %v", err)
	}
	if r.Name != "network-cut" || !r.Pass || r.Requests == 0 || r.Recovery <= 0 {
		t.Errorf("got %+v; want a passing network-cut with requests and a recovery time", r)
	}
	if !slices.ContainsFunc(ft.log(), func(c string) bool { return strings.HasPrefix(c, "cut ") }) {
		t.Errorf("calls %v; want a cut", ft.log())
	}
}

func TestTierNotWholeWhileAppsUseFailoverNodes(t *testing.T) {
	ft, d := newFakeTier(t, tierOptions{shared: true})
	// tomcat1's primary node n4 is down: its new sessions go to its
	// failover node n3, on its own host, where a host failure takes them.
	if err := ft.set("cache.n4", false); err != nil {
		t.Fatal(err)
	}
	o := quick("sticky")
	o.SettleTimeout = 500 * time.Millisecond
	rep, err := Run(context.Background(), d, o)
	if err != nil {
		t.Fatalf("Run: %v", err)
	}
	r := result(rep, "sticky")
	if want := "tomcat1 stores new sessions on n3, not on its primary nodes n4"; r.Pass || !strings.Contains(r.Detail, want) {
		t.Errorf("got pass=%v detail=%q; want a failure saying %q", r.Pass, r.Detail, want)
	}
}
