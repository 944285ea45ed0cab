package sessions

import (
	"context"

	"github.com/bradfitz/gomemcache/memcache"
)

// Txn is one request's view of its session: Begin loads it, the handler
// reads and changes Session().Attributes, Commit stores what changed.
// A Txn is used by one goroutine.
type Txn struct {
	m       *Manager
	reqID   string // the well-formed id the client sent, or ""
	sess    *Session
	orig    map[string]string // attributes as loaded, to compute the change
	isNew   bool
	invalid bool
	done    bool

	e *entry // sticky mode: the local copy

	// non-sticky mode
	item     *memcache.Item // primary as read (its cas id); nil if not read
	restored bool           // found only in a backup; primary to be rewritten
	oldID    string         // id before promotion, whose backup is dropped
	lock     *node          // node holding our "lock:" key (locking all)
}

// ValidID reports whether id has the shape of a session id on a configured
// node. Only such ids are ever used as cache keys.
func (m *Manager) ValidID(id string) bool {
	node, ok := splitID(id)
	return ok && m.byID[node] != nil
}

// Begin starts a request with the session id from the client's cookie
// ("" when none). An id that is malformed, names an unknown node, or is not
// in the cache is ignored: we never adopt an id we did not issue.
func (m *Manager) Begin(ctx context.Context, cookieID string) (*Txn, error) {
	t := &Txn{m: m}
	if !m.ValidID(cookieID) {
		return t, nil
	}
	t.reqID = cookieID
	if m.opt.Sticky {
		if err := m.beginSticky(t); err != nil {
			return nil, err
		}
		return t, nil
	}
	if err := m.beginNonSticky(ctx, t); err != nil {
		t.releaseLock()
		return nil, err
	}
	return t, nil
}

// Session is the request's session, or nil when it has none (yet).
func (t *Txn) Session() *Session { return t.sess }

// Create makes a new session when the request has none and returns the
// request's session.
func (t *Txn) Create() (*Session, error) {
	if t.sess != nil && !t.invalid {
		return t.sess, nil
	}
	n := t.m.pickNode("")
	if n == nil {
		if !t.m.opt.Sticky {
			return nil, ErrNoNode
		}
		// Sticky mode serves from memory; the session moves to a live node
		// at its first request after one is up again.
		n = t.m.nodes[0]
	}
	now := t.m.now()
	t.releaseLock()
	t.sess = &Session{ID: newID(n.spec.ID), Node: n.spec.ID, Created: now, LastAccess: now, Attributes: map[string]string{}}
	t.orig = map[string]string{}
	t.isNew, t.invalid, t.e, t.item = true, false, nil, nil
	t.m.stats.Created.Add(1)
	return t.sess, nil
}

// Invalidate ends the session at commit: it is removed from the cache and
// the client's cookie is cleared.
func (t *Txn) Invalidate() {
	if t.sess != nil {
		t.invalid = true
	}
}

// Commit stores the request's changes before it returns (in sticky mode
// with BackupAsync, after the request). Sticky mode never fails a commit:
// a session no node takes is kept in memory and written later.
func (t *Txn) Commit(ctx context.Context) error {
	if t.done {
		return nil
	}
	t.done = true
	defer t.releaseLock()
	if t.sess == nil {
		return nil
	}
	if t.m.opt.Sticky {
		t.commitSticky()
		return nil
	}
	return t.commitNonSticky(ctx)
}

// Cookie tells the handler what the client's cookie must be after Commit:
// the id, whether it differs from what the client sent (a new, moved or
// promoted session: send Set-Cookie), and whether to clear it instead.
func (t *Txn) Cookie() (id string, changed, clear bool) {
	if t.sess == nil {
		return "", false, t.reqID != ""
	}
	if t.invalid {
		return "", false, true
	}
	return t.sess.ID, t.sess.ID != t.reqID, false
}
