package app

import (
	"html"
	"io"
	"maps"
	"net/http"
	"slices"
	"strings"

	"github.com/stickyform/stickyform/agents/app/sessions"
)

// demoPage renders the classic test.jsp of Tomcat session-replication
// demos: which server answered, the session and where it is stored, and a
// plain HTML form (no JavaScript) to add or remove attributes. Every value
// from the session is escaped for both text and quoted attributes.
//
// It is written out by hand rather than with html/template on purpose:
// template execution looks methods up by name at run time, which keeps the
// linker from dropping any exported method of the whole program and made
// the binary that apply copies to every host a quarter larger.
func demoPage(w io.Writer, d demoData) error {
	e := html.EscapeString
	var b strings.Builder
	b.WriteString(`<!DOCTYPE html>
<html lang="en"><head><meta charset="utf-8"><title>` + e(d.Server) + ` — session test</title>
<style>body{font-family:sans-serif;margin:2em}table{border-collapse:collapse}
td,th{border:1px solid #999;padding:.3em .6em;text-align:left}th{background:#eee}</style></head>
<body>
<h1>Server: ` + e(d.Server) + `</h1>
<table>
<tr><th>Session ID</th><td><code id="session-id">` + e(d.ID) + `</code></td></tr>
<tr><th>Stored on node</th><td id="session-node">` + e(d.Node) + `</td></tr>
<tr><th>Created</th><td id="session-created">` + e(d.Created) + `</td></tr>
<tr><th>Last access</th><td id="session-last-access">` + e(d.LastAccess) + `</td></tr>
<tr><th>Mode</th><td>` + e(d.Mode) + `</td></tr>
</table>
<h2>Session attributes</h2>
<table id="attributes">
<tr><th>Name</th><th>Value</th><th></th></tr>
`)
	for _, a := range d.Attrs {
		b.WriteString(`<tr><td>` + e(a.Name) + `</td><td>` + e(a.Value) + `</td><td>
<form method="post" action="` + e(d.Action) + `"><input type="hidden" name="remove" value="` + e(a.Name) + `"><button type="submit">Remove</button></form></td></tr>
`)
	}
	if len(d.Attrs) == 0 {
		b.WriteString(`<tr><td colspan="3"><em>none</em></td></tr>
`)
	}
	b.WriteString(`</table>
<h2>Add an attribute</h2>
<form method="post" action="` + e(d.Action) + `">
<label>Name <input name="name" required maxlength="256"></label>
<label>Value <input name="value" maxlength="65536"></label>
<button type="submit">Add to session</button>
</form>
<form method="post" action="` + e(d.Action) + `"><input type="hidden" name="invalidate" value="1">
<button type="submit">Invalidate session</button></form>
</body></html>
`)
	_, err := io.WriteString(w, b.String())
	return err
}

type demoAttr struct{ Name, Value string }

type demoData struct {
	sessionJSON
	Mode, Action string
	Attrs        []demoAttr
}

// demoAction is where the page's forms post: the page's own path.
func demoAction(r *http.Request) string {
	if r.URL.Path == "/demo" {
		return "/demo"
	}
	return "/"
}

func (s *server) demoGet(w http.ResponseWriter, r *http.Request) {
	t, err := s.begin(r)
	if err != nil {
		s.fail(w, err)
		return
	}
	sess, err := t.Create()
	if err != nil {
		t.Commit(r.Context())
		s.fail(w, err)
		return
	}
	view := s.view(sess)
	if err := s.commit(w, r, t); err != nil {
		s.fail(w, err)
		return
	}
	sess = t.Session()
	view.ID, view.Node = sess.ID, sess.Node
	d := demoData{sessionJSON: view, Mode: s.cfg.Mode, Action: demoAction(r)}
	for _, k := range slices.Sorted(maps.Keys(sess.Attributes)) {
		d.Attrs = append(d.Attrs, demoAttr{k, sess.Attributes[k]})
	}
	w.Header().Set("Content-Type", "text/html; charset=utf-8")
	w.Header().Set("Cache-Control", "no-store")
	if err := demoPage(w, d); err != nil {
		s.log.Warn("render demo page", "err", err)
	}
}

// demoPost applies the form and redirects (post/redirect/get), so a reload
// does not post again.
func (s *server) demoPost(w http.ResponseWriter, r *http.Request) {
	r.Body = http.MaxBytesReader(w, r.Body, maxValueLen+maxKeyLen+1024)
	if err := r.ParseForm(); err != nil {
		http.Error(w, "bad form: "+err.Error(), http.StatusBadRequest)
		return
	}
	name, value := r.PostFormValue("name"), r.PostFormValue("value")
	if name != "" {
		if msg := checkAttr(name, value); msg != "" {
			http.Error(w, msg, http.StatusBadRequest)
			return
		}
	}
	t, err := s.begin(r)
	if err != nil {
		s.fail(w, err)
		return
	}
	if r.PostFormValue("invalidate") != "" {
		t.Invalidate()
	} else if err := s.applyForm(t, name, value, r.PostFormValue("remove")); err != nil {
		t.Commit(r.Context())
		s.fail(w, err)
		return
	}
	if err := s.commit(w, r, t); err != nil {
		s.fail(w, err)
		return
	}
	http.Redirect(w, r, demoAction(r), http.StatusSeeOther)
}

func (s *server) applyForm(t *sessions.Txn, name, value, remove string) error {
	sess, err := t.Create()
	if err != nil {
		return err
	}
	if remove != "" {
		delete(sess.Attributes, remove)
	}
	if _, ok := sess.Attributes[name]; name != "" && (ok || len(sess.Attributes) < maxAttrs) {
		sess.Attributes[name] = value
	}
	return nil
}
