package app

import (
	"strings"
	"testing"
)

// The demo page shows what users typed: nothing of it may become markup,
// neither in text nor inside the remove form's quoted attribute.
func TestDemoPageEscapes(t *testing.T) {
	evil := `x"><script>alert('a&b')</script>`
	var b strings.Builder
	d := demoData{
		sessionJSON: sessionJSON{ID: "abc-n1", Server: "<tomcat1>", Node: "n1"},
		Mode:        "sticky", Action: "/",
		Attrs: []demoAttr{{Name: evil, Value: evil}},
	}
	if err := demoPage(&b, d); err != nil {
		t.Fatal(err)
	}
	page := b.String()
	if strings.Contains(page, "<script>") || strings.Contains(page, `x">`) || strings.Contains(page, "<tomcat1>") {
		t.Fatalf("unescaped user data in the page:\n%s", page)
	}
	want := `value="x&#34;&gt;&lt;script&gt;alert(&#39;a&amp;b&#39;)&lt;/script&gt;"`
	if !strings.Contains(page, want) {
		t.Fatalf("the remove form lacks the escaped name %s:\n%s", want, page)
	}
	if strings.Contains(page, "<em>none</em>") {
		t.Fatal("a session with attributes is shown as having none")
	}
	b.Reset()
	d.Attrs = nil
	demoPage(&b, d)
	if !strings.Contains(b.String(), "<em>none</em>") {
		t.Fatal("a session without attributes does not say none")
	}
}
