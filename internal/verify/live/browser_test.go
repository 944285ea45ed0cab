package live_test

import (
	"context"
	"fmt"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"
)

// chromiumPath is Debian's chromium package.
const chromiumPath = "/usr/bin/chromium"

// demoURL is the demo page through the proxy of examples/classic on the lab.
const demoURL = "http://172.25.1.2/"

// browserCut is what the README promises a user will see: in a real
// browser, add an attribute through the demo page's form, cut the sticky
// app's host off the network, reload: the attribute is still there,
// served by the other app. Each step leaves a screenshot in
// $STICKYFORM_ARTIFACTS (or a temp dir).
func browserCut(t *testing.T, c *classic) {
	if _, err := os.Stat(chromiumPath); err != nil {
		t.Skipf("no browser: %s is missing (Debian package chromium; make deps installs it)", chromiumPath)
	}
	artifacts := os.Getenv("STICKYFORM_ARTIFACTS")
	if artifacts == "" {
		artifacts = t.TempDir()
	} else if err := os.MkdirAll(artifacts, 0o755); err != nil {
		t.Fatal(err)
	}
	ctx := newBrowser(t)
	b := &page{t: t, ctx: ctx, dir: artifacts}

	b.do("open the demo page", chromedp.Navigate(demoURL), chromedp.WaitVisible(chromedp.CSS("h1")))
	first := b.server()
	b.shot("1-demo-page")

	b.do("add an attribute through the form",
		chromedp.SendKeys(chromedp.CSS(`input[name="name"]`), "color"),
		chromedp.SendKeys(chromedp.CSS(`input[name="value"]`), "blue"),
		chromedp.Click(chromedp.CSS(`form:has(input[name="name"]) button[type="submit"]`)))
	b.waitAttributes("color", "blue")
	if got := b.server(); got != first {
		t.Fatalf("after adding: served by %s; want the sticky %s", got, first)
	}
	b.shot("2-attribute-added")

	host := hostOf(t, c, first)
	if err := c.lab.CutHost(host); err != nil {
		t.Fatalf("cut %s: %v", host, err)
	}
	restored := false
	restore := func() {
		if !restored {
			restored = true
			if err := c.lab.RestoreHost(host); err != nil {
				t.Errorf("restore %s: %v", host, err)
			}
		}
	}
	defer restore()

	b.do("reload with "+host+" cut off", chromedp.Reload(), chromedp.WaitVisible(chromedp.CSS("h1")))
	b.shot("3-after-host-cut")
	if got := b.server(); got == first {
		t.Errorf("after cutting %s: still served by %s; want the other app", host, got)
	}
	if got := b.text("#attributes"); !strings.Contains(got, "color") || !strings.Contains(got, "blue") {
		t.Errorf("after cutting %s: attributes table %q; want color = blue", host, got)
	}
	t.Logf("served by %s, then by %s after cutting %s; screenshots in %s", first, b.server(), host, artifacts)
	restore()
	waitBothApps(t)
}

// newBrowser starts headless Chromium with a throw-away profile and no
// network chatter of its own, and stops it when the test ends.
func newBrowser(t *testing.T) context.Context {
	t.Helper()
	opts := []chromedp.ExecAllocatorOption{
		chromedp.ExecPath(chromiumPath),
		chromedp.Headless, chromedp.NoSandbox, chromedp.DisableGPU, chromedp.NoFirstRun,
		chromedp.Flag("disable-quic", true),
		chromedp.Flag("disable-background-networking", true),
		chromedp.Flag("disable-component-update", true),
		chromedp.Flag("disable-sync", true),
		chromedp.UserDataDir(t.TempDir()),
		chromedp.WindowSize(900, 700),
	}
	alloc, cancelAlloc := chromedp.NewExecAllocator(context.Background(), opts...)
	ctx, cancel := chromedp.NewContext(alloc)
	t.Cleanup(func() { cancel(); cancelAlloc() })
	// The first Run starts the browser; it must not carry a timeout.
	if err := chromedp.Do(ctx); err != nil {
		t.Fatalf("start chromium: %v", err)
	}
	return ctx
}

// page drives one browser tab.
type page struct {
	t   *testing.T
	ctx context.Context
	dir string
}

// stepTimeout bounds one browser step: a page load through a proxy that
// must first notice a dead backend included.
const stepTimeout = 30 * time.Second

func (p *page) do(what string, steps ...chromedp.Action[chromedp.Void]) {
	p.t.Helper()
	ctx, cancel := context.WithTimeout(p.ctx, stepTimeout)
	defer cancel()
	if err := chromedp.Do(ctx, steps...); err != nil {
		p.shot("failed-" + strings.ReplaceAll(what, " ", "-"))
		// Tell a slow browser from a tier that does not answer.
		p.t.Fatalf("%s: %v (a plain GET of %s meanwhile: %s)", what, err, demoURL, plainGet())
	}
}

// plainGet fetches the demo page without the browser and says how it went.
func plainGet() string {
	start := time.Now()
	c := &http.Client{Timeout: 10 * time.Second}
	resp, err := c.Get(demoURL)
	if err != nil {
		return fmt.Sprintf("%v after %s", err, time.Since(start).Round(time.Millisecond))
	}
	resp.Body.Close()
	return fmt.Sprintf("%s after %s", resp.Status, time.Since(start).Round(time.Millisecond))
}

func (p *page) text(sel string) string {
	p.t.Helper()
	ctx, cancel := context.WithTimeout(p.ctx, stepTimeout)
	defer cancel()
	s, err := chromedp.Run(ctx, chromedp.Text(chromedp.CSS(sel)))
	if err != nil {
		p.t.Fatalf("read %s: %v", sel, err)
	}
	return s
}

// server is the app named in the page's heading "Server: NAME".
func (p *page) server() string {
	p.t.Helper()
	h := p.text("h1")
	name, ok := strings.CutPrefix(strings.TrimSpace(h), "Server: ")
	if !ok {
		p.t.Fatalf("heading %q; want \"Server: NAME\"", h)
	}
	return name
}

// waitAttributes waits for the form's post/redirect/get to show key=value.
func (p *page) waitAttributes(key, value string) {
	p.t.Helper()
	deadline := time.Now().Add(stepTimeout)
	for {
		ctx, cancel := context.WithTimeout(p.ctx, 2*time.Second)
		s, err := chromedp.Run(ctx, chromedp.Text(chromedp.CSS("#attributes")))
		cancel()
		if err == nil && strings.Contains(s, key) && strings.Contains(s, value) {
			return
		}
		if time.Now().After(deadline) {
			p.shot("failed-attribute")
			p.t.Fatalf("attributes table %q (%v); want %s = %s", s, err, key, value)
		}
		time.Sleep(100 * time.Millisecond)
	}
}

// shot saves a PNG of the whole page as NAME.png in the artifacts dir.
func (p *page) shot(name string) {
	ctx, cancel := context.WithTimeout(p.ctx, stepTimeout)
	defer cancel()
	png, err := chromedp.Run(ctx, chromedp.FullScreenshot(100))
	if err != nil {
		p.t.Errorf("screenshot %s: %v", name, err)
		return
	}
	path := filepath.Join(p.dir, name+".png")
	if err := os.WriteFile(path, png, 0o644); err != nil {
		p.t.Errorf("save screenshot: %v", err)
	}
	p.t.Logf("screenshot %s", path)
}
