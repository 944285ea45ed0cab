package sessions

import (
	"errors"
	"fmt"

	"github.com/bradfitz/gomemcache/memcache"
)

// A local copy is the truth only while no other app can change the
// session. Another app writes it when the client fails over, which with a
// live app means the client could not reach this one: the host was cut
// off, and then this app lost its node too (in the classic setup the node
// is on the other host). So after this app lost contact with a node, the
// local copies synced with that node before are reloaded on their next
// request (one round trip, only after such a lapse); in normal operation
// a read of a held session still makes no cache round trip.

// resync reloads e from its node if the node lapsed since e was synced,
// and merges: the stored copy wins for every attribute another app changed
// since e's base; local changes not yet stored are kept for the others. A
// session the node does not hold keeps its local copy (new, or the node
// restarted empty: the next write stores it again). It returns an error
// only when the node is up but failing, as a load does.
func (m *Manager) resync(e *entry) error {
	e.flushMu.Lock() // no write of e in flight: its result would race the merge
	defer e.flushMu.Unlock()
	e.mu.Lock()
	id, n := e.s.ID, m.byID[e.s.Node]
	synced := n.lapses.Load()
	if e.gone || e.synced == synced {
		e.mu.Unlock()
		return nil
	}
	e.mu.Unlock()

	var it *memcache.Item
	err := n.do("get", func(c *memcache.Client) (err error) {
		it, err = c.Get(id)
		return err
	})
	var stored *Session
	switch {
	case err == nil:
		if stored, err = decode(it.Value, id); err != nil {
			m.log.Warn("session reload: stored copy unreadable; keeping the local one", "err", err)
		}
	case errors.Is(err, memcache.ErrCacheMiss):
	case !n.up.Load():
		return nil // the node died: the caller moves the session from memory
	default:
		return fmt.Errorf("reload session %s: %w", id, err)
	}
	e.mu.Lock()
	defer e.mu.Unlock()
	if e.gone || e.s.ID != id {
		return nil
	}
	if stored != nil {
		mergeStored(e, stored)
		m.stats.Reloaded.Add(1)
	}
	e.synced = synced
	return nil
}

// mergeStored makes stored e's base and local copy, keeping the local
// changes not yet stored for the attributes the stored copy did not change
// (e.mu held).
func mergeStored(e *entry, stored *Session) {
	mine := diff(e.base, e.s.Attributes)
	for k := range diff(e.base, stored.Attributes) {
		delete(mine, k) // changed by another app since: its write is newer
	}
	e.s.Attributes = cloneAttrs(stored.Attributes)
	mine.applyTo(e.s.Attributes)
	e.s.Version = stored.Version
	e.base, e.baseVersion = cloneAttrs(stored.Attributes), stored.Version
	e.storedHash = contentHash(stored.ID, stored.Attributes)
}
