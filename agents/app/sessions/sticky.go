package sessions

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"time"

	"github.com/bradfitz/gomemcache/memcache"
)

// entry is sticky mode's local copy of a session and what is known about
// its stored copy. Its fields are guarded by mu.
type entry struct {
	// flushMu serializes writes of this session: two writes in flight with
	// different snapshots could land out of order and undo a change.
	flushMu    sync.Mutex
	mu         sync.Mutex
	s          *Session
	storedHash uint64    // content hash of the last successful write; 0: none
	lastWrite  time.Time // last write or refresh that reached the node
	// base is the stored copy's attributes and version as last written or
	// read (nil: nothing stored under this id yet). A write applies only
	// the changes made since base onto whatever the node holds now, so a
	// session another app changed meanwhile (the client failed over and
	// back) keeps those changes.
	base        map[string]string
	baseVersion uint64
	// synced is the node's lapse count when the local copy was last
	// synced with it (loaded, written or refreshed), read before that
	// operation: when the node's count has moved since, this app lost
	// contact with the node and the copy is reloaded before it is served.
	synced uint64
	queued bool // waiting in the write-behind queue
	gone   bool // expired or invalidated: drop, never write
}

// beginSticky serves a held session from memory; a session this app does
// not hold (another app served it before: the app-failover case) is loaded
// from the node named in its id.
func (m *Manager) beginSticky(t *Txn) error {
	m.mu.RLock()
	e := m.local[t.reqID]
	m.mu.RUnlock()
	if e == nil {
		var err error
		if e, err = m.loadSticky(t.reqID); e == nil {
			return err
		}
	}
	e.mu.Lock()
	defer e.mu.Unlock()
	now := m.now()
	if e.gone || now.Sub(e.s.LastAccess) > m.opt.Timeout {
		m.dropLocked(e)
		return nil
	}
	if n := m.byID[e.s.Node]; n != nil && n.up.Load() && e.synced != n.lapses.Load() {
		// Rare (only after this app lost its node): one round trip.
		e.mu.Unlock()
		err := m.resync(e)
		e.mu.Lock()
		if err != nil {
			return err
		}
		if e.gone {
			return nil // invalidated meanwhile
		}
	}
	if n := m.byID[e.s.Node]; n != nil && !n.up.Load() {
		m.relocateLocked(e)
	}
	t.e, t.sess, t.orig = e, e.s.clone(), cloneAttrs(e.s.Attributes)
	return nil
}

// loadSticky reads a session from its node and adopts it as a local copy.
// A miss, a decode error or a dead node mean "no session"; a node that is
// alive but failing is an error, so a hiccup does not cost the session.
func (m *Manager) loadSticky(id string) (*entry, error) {
	node, _ := splitID(id)
	n := m.byID[node]
	synced := n.lapses.Load()
	var it *memcache.Item
	err := n.do("get", func(c *memcache.Client) (err error) {
		it, err = c.Get(id)
		return err
	})
	if err != nil {
		if errors.Is(err, memcache.ErrCacheMiss) || !n.up.Load() {
			return nil, nil
		}
		return nil, fmt.Errorf("load session %s: %w", id, err)
	}
	s, err := decode(it.Value, id)
	if err != nil {
		m.log.Warn("session load failed", "err", err)
		return nil, nil
	}
	s.LastAccess = m.now() // present in the cache: alive, whatever it says
	m.stats.Loaded.Add(1)
	e := &entry{s: s, storedHash: contentHash(s.ID, s.Attributes), base: cloneAttrs(s.Attributes), baseVersion: s.Version, synced: synced}
	m.mu.Lock()
	defer m.mu.Unlock()
	if held := m.local[id]; held != nil { // a parallel request was first
		return held, nil
	}
	m.local[id] = e
	return e, nil
}

// relocateLocked moves a session whose node is down to a live node under a
// new id (MSM's behaviour) and reports whether it moved; the write follows
// with the request's commit.
func (m *Manager) relocateLocked(e *entry) bool {
	n := m.pickNode(e.s.Node)
	if n == nil {
		return false // nowhere to go: keep serving from memory
	}
	old := e.s.ID
	e.s.ID, e.s.Node, e.storedHash, e.base = newID(n.spec.ID), n.spec.ID, 0, nil
	e.synced = n.lapses.Load() // nothing stored under the new id: the copy is the truth
	m.mu.Lock()
	delete(m.local, old)
	m.local[e.s.ID] = e
	m.mu.Unlock()
	m.stats.Relocated.Add(1)
	m.log.Info("session relocated", "from", old, "to", e.s.ID)
	return true
}

func (m *Manager) dropLocked(e *entry) {
	if !e.gone {
		e.gone = true
		m.stats.Expired.Add(1)
	}
	m.mu.Lock()
	if m.local[e.s.ID] == e {
		delete(m.local, e.s.ID)
	}
	m.mu.Unlock()
}

// commitSticky merges the request's attribute changes into the local copy
// (so parallel requests of one client lose nothing). A request that changed
// the session (new, moved, attributes) stores it before returning, unless
// BackupAsync; otherwise a write still owed or a due expiry refresh is
// queued, so a plain read never waits for the cache.
func (t *Txn) commitSticky() {
	m := t.m
	e := t.e
	if e == nil {
		e = &entry{s: t.sess.clone()}
		if n := m.byID[e.s.Node]; n != nil {
			e.synced = n.lapses.Load() // new: nothing to miss
		}
		m.mu.Lock()
		m.local[e.s.ID] = e
		m.mu.Unlock()
	}
	e.mu.Lock()
	if t.invalid {
		e.gone = true
		m.stats.Invalidated.Add(1)
		m.mu.Lock()
		delete(m.local, e.s.ID)
		m.mu.Unlock()
		id, n := e.s.ID, m.byID[e.s.Node]
		e.mu.Unlock()
		// After any write in flight (gone stops later ones), and before
		// the response: a request right after must not load it back.
		e.flushMu.Lock()
		n.do("delete", func(c *memcache.Client) error { return c.Delete(id) })
		e.flushMu.Unlock()
		return
	}
	ch := diff(t.orig, t.sess.Attributes)
	if t.e != nil {
		ch.applyTo(e.s.Attributes)
	}
	e.s.LastAccess = m.now()
	dirty := contentHash(e.s.ID, e.s.Attributes) != e.storedHash
	changed := t.isNew || len(ch) > 0 || e.s.ID != t.reqID
	due := dirty || m.now().Sub(e.lastWrite) >= m.refreshEvery()
	e.mu.Unlock()
	switch {
	case dirty && changed && !m.opt.BackupAsync:
		m.storeNow(e)
	case due:
		m.writer.enqueue(e)
	}
	e.mu.Lock()
	// The local copy as stored (merged with other apps' changes) and where:
	// a parallel request or the write may have moved it.
	t.sess.ID, t.sess.Node, t.sess.Attributes = e.s.ID, e.s.Node, cloneAttrs(e.s.Attributes)
	e.mu.Unlock()
}

// sweep drops expired local copies so memory follows the live sessions.
func (m *Manager) sweep(ctx context.Context) {
	every := min(m.opt.Timeout/4, 30*time.Second)
	t := time.NewTicker(every)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
		m.mu.RLock()
		var all []*entry
		for _, e := range m.local {
			all = append(all, e)
		}
		m.mu.RUnlock()
		for _, e := range all {
			e.mu.Lock()
			if m.now().Sub(e.s.LastAccess) > m.opt.Timeout {
				m.dropLocked(e)
			}
			e.mu.Unlock()
		}
	}
}

// dirty lists local sessions whose content is not yet on their node.
// Locks are taken entry first, then the map, so the map lock is not held
// while entries are inspected.
func (m *Manager) dirty() []*entry {
	m.mu.RLock()
	all := make([]*entry, 0, len(m.local))
	for _, e := range m.local {
		all = append(all, e)
	}
	m.mu.RUnlock()
	var out []*entry
	for _, e := range all {
		e.mu.Lock()
		if !e.gone && contentHash(e.s.ID, e.s.Attributes) != e.storedHash {
			out = append(out, e)
		}
		e.mu.Unlock()
	}
	return out
}

func cloneAttrs(a map[string]string) map[string]string {
	c := make(map[string]string, len(a))
	for k, v := range a {
		c[k] = v
	}
	return c
}
