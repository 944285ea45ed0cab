package sessions

import (
	"errors"
	"fmt"

	"github.com/bradfitz/gomemcache/memcache"
)

// flush writes one session to its node when its content changed, merging
// into the stored copy; when unchanged it only refreshes the expiry, with
// "gat", which also brings in changes another app stored meanwhile, and
// only when the refresh is due (a write that ran meanwhile made it fresh).
// The error is the failed write's; a failed refresh is only logged.
func (m *Manager) flush(e *entry) error {
	e.flushMu.Lock()
	defer e.flushMu.Unlock()
	e.mu.Lock()
	e.queued = false
	changed := contentHash(e.s.ID, e.s.Attributes) != e.storedHash
	if e.gone || !changed && m.now().Sub(e.lastWrite) < m.refreshEvery() {
		e.mu.Unlock()
		return nil
	}
	snap, base, baseVersion := e.s.clone(), e.base, e.baseVersion
	e.mu.Unlock()

	n := m.byID[snap.Node]
	synced := n.lapses.Load() // before the round trip: a lapse during it counts
	if !changed {
		m.stats.Touches.Add(1)
		stored, err := m.getAndTouch(n, snap.ID)
		if err == nil {
			m.rebase(e, snap, stored, synced)
			return nil
		}
		if !errors.Is(err, memcache.ErrCacheMiss) {
			m.log.Info("session refresh failed", "id", snap.ID, "err", err)
			return nil
		}
		base = nil // a restarted node lost it: store it again
	}
	m.stats.Writes.Add(1)
	stored, err := m.storeMerged(n, snap, diff(base, snap.Attributes), baseVersion, base != nil)
	if err != nil {
		// A dead node is marked down; the next request relocates the session.
		m.log.Info("session write failed", "id", snap.ID, "err", err)
		return err
	}
	m.rebase(e, snap, stored, synced)
	return nil
}

// storeNow writes a changed session before the response. When its node is
// down the session moves to a live node (new id, which the caller sends as
// Set-Cookie) and is written there. When no node takes it, the request is
// still answered, as MSM does with sessionBackupAsync=false (it logs the
// failed backup; Tomcat serves from memory): this app holds the session, a
// 503 would turn a cache outage into a site outage, and the session stays
// dirty, so the next change or the shutdown flush writes it once a node is
// back. The failure is logged and counted (session_write_failures_total).
func (m *Manager) storeNow(e *entry) {
	var err error
	for range len(m.nodes) + 1 {
		if err = m.flush(e); err == nil {
			return
		}
		e.mu.Lock()
		moved := !e.gone && !m.byID[e.s.Node].up.Load() && m.relocateLocked(e)
		e.mu.Unlock()
		if !moved {
			break
		}
	}
	m.stats.WriteFailures.Add(1)
	m.log.Warn("changed session not stored before the response; kept in memory", "err", err)
}

// rebase makes stored the entry's base and local copy, keeping the changes
// requests made since snap was taken (they are queued for the next write).
func (m *Manager) rebase(e *entry, snap, stored *Session, synced uint64) {
	e.mu.Lock()
	defer e.mu.Unlock()
	if e.gone || e.s.ID != snap.ID {
		return // invalidated or moved meanwhile
	}
	since := diff(snap.Attributes, e.s.Attributes)
	e.s.Attributes = cloneAttrs(stored.Attributes)
	since.applyTo(e.s.Attributes)
	e.s.Version = stored.Version
	e.base, e.baseVersion = cloneAttrs(stored.Attributes), stored.Version
	e.storedHash, e.lastWrite = contentHash(stored.ID, stored.Attributes), m.now()
	e.synced = synced
}

func (m *Manager) getAndTouch(n *node, id string) (*Session, error) {
	var it *memcache.Item
	err := n.do("gat", func(c *memcache.Client) (err error) {
		it, err = c.GetAndTouch(id, m.expiry())
		return err
	})
	if err != nil {
		return nil, err
	}
	return decode(it.Value, id)
}

// storeMerged applies ch onto the node's current copy with gets/cas (or
// add when there is none) and returns what was stored. A session never
// stored under its id (new or just relocated) skips the read.
func (m *Manager) storeMerged(n *node, snap *Session, ch change, baseVersion uint64, known bool) (*Session, error) {
	deadline := m.now().Add(casBudget)
	for attempt := 0; m.now().Before(deadline); attempt++ {
		var it *memcache.Item
		err := memcache.ErrCacheMiss
		if known || attempt > 0 {
			err = n.do("gets", func(c *memcache.Client) (err error) {
				it, err = c.Get(snap.ID)
				return err
			})
		}
		cur := snap.clone()
		cur.Version = max(cur.Version, baseVersion) + 1
		if err == nil {
			stored, derr := decode(it.Value, snap.ID)
			if derr != nil {
				return nil, derr
			}
			cur.Attributes = stored.Attributes
			ch.applyTo(cur.Attributes)
			cur.Version = stored.Version + 1
		} else if !errors.Is(err, memcache.ErrCacheMiss) {
			return nil, err
		}
		item := &memcache.Item{Key: cur.ID, Value: encode(cur), Expiration: m.expiry()}
		err = n.do("store", func(c *memcache.Client) error {
			if it == nil {
				return c.Add(item)
			}
			item.CasID = it.CasID
			return c.CompareAndSwap(item)
		})
		if err == nil {
			return cur, nil
		}
		if !errors.Is(err, memcache.ErrCASConflict) && !errors.Is(err, memcache.ErrNotStored) && !errors.Is(err, memcache.ErrCacheMiss) {
			return nil, err
		}
		m.stats.CASRetries.Add(1)
		backoff(attempt)
	}
	return nil, fmt.Errorf("store session %s: gave up after %s of conflicting writes", snap.ID, casBudget)
}
