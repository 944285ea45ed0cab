package sessions

import (
	"context"
	"errors"
	"fmt"
	"math/rand/v2"
	"time"

	"github.com/bradfitz/gomemcache/memcache"
)

const (
	bakPrefix  = "bak:"
	lockPrefix = "lock:"
	// casBudget bounds the merge loop in time; each retry re-reads the
	// session, so only a storm of writers to one session can exhaust it.
	casBudget = 5 * time.Second
	// lockWait bounds how long locking "all" waits for another request's
	// lock; lockTTL lets a crashed holder's lock expire on its own.
	lockWait = 2 * time.Second
	lockTTL  = 5 // seconds
)

// beginNonSticky reads the session from its node, or from a backup when
// the node is down (then promotes it: new id on a live node) or lost it
// (then restores it under the same id).
func (m *Manager) beginNonSticky(ctx context.Context, t *Txn) error {
	id := t.reqID
	node, _ := splitID(id)
	primary := m.byID[node]
	if m.opt.Locking == "all" {
		t.lock = m.acquire(ctx, primary, id)
	}
	it, err := m.get(primary, id)
	if err == nil {
		s, derr := decode(it.Value, id)
		if derr != nil {
			m.log.Warn("session load failed", "err", derr)
			return nil
		}
		t.sess, t.orig, t.item = s, cloneAttrs(s.Attributes), it
		m.stats.Loaded.Add(1)
		return nil
	}
	if !errors.Is(err, memcache.ErrCacheMiss) && primary.up.Load() {
		return err // the node is alive but failing: no failover on a hiccup
	}
	s := m.findBackup(id, node)
	if s == nil {
		return nil // never issued, expired or lost everywhere: not adopted
	}
	m.stats.Loaded.Add(1)
	t.sess, t.orig = s, cloneAttrs(s.Attributes)
	if primary.up.Load() {
		t.restored = true // primary up but empty (restarted): same id
		return nil
	}
	n := m.pickNode(node)
	if n == nil {
		return ErrNoNode
	}
	t.oldID = id
	t.sess.ID, t.sess.Node = newID(n.spec.ID), n.spec.ID
	t.restored = true
	m.stats.Relocated.Add(1)
	m.log.Info("session promoted from backup", "from", id, "to", t.sess.ID)
	return nil
}

// backoff sleeps a random time that grows with the attempt (at most
// 32ms), so colliding writers spread out instead of colliding again.
func backoff(attempt int) {
	limit := 1 << min(attempt, 5)
	time.Sleep(time.Duration(rand.IntN(limit*1000)) * time.Microsecond)
}

func isNodeErr(err error) bool {
	var ne *NodeError
	return errors.As(err, &ne)
}

func (m *Manager) get(n *node, key string) (*memcache.Item, error) {
	var it *memcache.Item
	err := n.do("get", func(c *memcache.Client) (err error) {
		it, err = c.Get(key)
		return err
	})
	return it, err
}

// findBackup looks for "bak:<id>" on the live nodes after the primary.
func (m *Manager) findBackup(id, primary string) *Session {
	for _, n := range m.after(primary) {
		it, err := m.get(n, bakPrefix+id)
		if err != nil {
			continue
		}
		if s, err := decode(it.Value, id); err == nil {
			return s
		}
	}
	return nil
}

// commitNonSticky stores the request's change on the primary, merging it
// into whatever parallel requests stored meanwhile (gets/cas, retried),
// then copies the result to the backup node.
func (t *Txn) commitNonSticky(ctx context.Context) error {
	m := t.m
	if t.invalid {
		m.stats.Invalidated.Add(1)
		m.deleteEverywhere(t.sess.ID)
		return nil
	}
	ch := diff(t.orig, t.sess.Attributes)
	stale := m.now().Sub(t.sess.LastAccess) >= m.refreshEvery()
	if !t.isNew && !t.restored && len(ch) == 0 && !stale {
		return nil // a read: nothing to write, expiry still fresh
	}
	cur, err := t.writePrimary(ctx, ch)
	if err != nil {
		return err
	}
	t.sess = cur
	m.writeBackup(cur, t.isNew)
	if t.oldID != "" {
		m.dropBackup(t.oldID)
	}
	return nil
}

// writePrimary applies ch with optimistic concurrency and returns what was
// stored. A dead primary moves the session to a live node (new id).
func (t *Txn) writePrimary(ctx context.Context, ch change) (*Session, error) {
	m := t.m
	cur, it := t.sess, t.item
	deadline := m.now().Add(casBudget)
	for attempt := 0; ; attempt++ {
		if m.now().After(deadline) || ctx.Err() != nil {
			return nil, fmt.Errorf("store session %s: gave up after %d conflicting writes", cur.ID, attempt)
		}
		n := m.byID[cur.Node]
		cur.LastAccess = m.now()
		cur.Version++
		err := n.do("store", func(c *memcache.Client) error {
			item := &memcache.Item{Key: cur.ID, Value: encode(cur), Expiration: m.expiry()}
			switch {
			case m.opt.Locking == "none" || t.isNew:
				return c.Set(item) // a fresh random id: nobody else has it
			case it == nil:
				return c.Add(item) // restoring: only if nobody did meanwhile
			default:
				item.CasID = it.CasID
				return c.CompareAndSwap(item)
			}
		})
		switch {
		case err == nil:
			return cur, nil
		case errors.Is(err, memcache.ErrCASConflict), errors.Is(err, memcache.ErrNotStored), errors.Is(err, memcache.ErrCacheMiss):
			m.stats.CASRetries.Add(1)
			cur, it = t.reread(cur, ch)
			backoff(attempt)
		case (isNodeErr(err) || errors.Is(err, errNodeDown)) && !n.up.Load():
			nn := m.pickNode(cur.Node)
			if nn == nil {
				return nil, ErrNoNode
			}
			m.stats.Relocated.Add(1)
			if t.oldID == "" {
				t.oldID = cur.ID
			}
			cur.ID, cur.Node, it, t.isNew = newID(nn.spec.ID), nn.spec.ID, nil, true
		default:
			return nil, fmt.Errorf("store session %s: %w", cur.ID, err)
		}
	}
}

// reread loads the newest stored copy after a conflict and applies the
// request's change to it: the attribute-level merge. If the session
// vanished meanwhile, the request's own copy is stored again with add.
func (t *Txn) reread(cur *Session, ch change) (*Session, *memcache.Item) {
	it, err := t.m.get(t.m.byID[cur.Node], cur.ID)
	if err != nil {
		return cur, nil
	}
	fresh, err := decode(it.Value, cur.ID)
	if err != nil {
		return cur, nil
	}
	ch.applyTo(fresh.Attributes)
	return fresh, it
}

// writeBackup copies s to "bak:<id>" on the next live node, unless that
// node already holds a newer version (a parallel request was faster). A
// fresh id cannot have a backup yet, so it is simply set.
func (m *Manager) writeBackup(s *Session, fresh bool) {
	n := m.backupNode(s.Node)
	if n == nil {
		return
	}
	key, val := bakPrefix+s.ID, encode(s)
	if fresh {
		err := n.do("backup", func(c *memcache.Client) error {
			return c.Set(&memcache.Item{Key: key, Value: val, Expiration: m.expiry()})
		})
		if err != nil {
			m.log.Info("session backup failed", "id", s.ID, "err", err)
		}
		return
	}
	for range 4 {
		err := n.do("backup", func(c *memcache.Client) error {
			old, err := c.Get(key)
			item := &memcache.Item{Key: key, Value: val, Expiration: m.expiry()}
			if errors.Is(err, memcache.ErrCacheMiss) {
				return c.Add(item)
			}
			if err != nil {
				return err
			}
			if prev, derr := decode(old.Value, s.ID); derr == nil && prev.Version >= s.Version {
				return nil
			}
			item.CasID = old.CasID
			return c.CompareAndSwap(item)
		})
		if !errors.Is(err, memcache.ErrCASConflict) && !errors.Is(err, memcache.ErrNotStored) {
			if err != nil {
				m.log.Info("session backup failed", "id", s.ID, "err", err)
			}
			return
		}
	}
}

func (m *Manager) dropBackup(id string) {
	node, _ := splitID(id)
	for _, n := range m.after(node) {
		n.do("delete", func(c *memcache.Client) error { return c.Delete(bakPrefix + id) })
	}
}

func (m *Manager) deleteEverywhere(id string) {
	node, _ := splitID(id)
	m.byID[node].do("delete", func(c *memcache.Client) error { return c.Delete(id) })
	m.dropBackup(id)
}

// acquire takes "lock:<id>" with add (locking "all"), waiting at most
// lockWait. On timeout the request goes on without the lock: the cas merge
// still keeps every change, so a stuck lock costs latency, never a hang.
func (m *Manager) acquire(ctx context.Context, n *node, id string) *node {
	deadline := m.now().Add(lockWait)
	wait := time.Millisecond
	for {
		err := n.do("lock", func(c *memcache.Client) error {
			return c.Add(&memcache.Item{Key: lockPrefix + id, Value: []byte("1"), Expiration: lockTTL})
		})
		if err == nil {
			return n
		}
		if !errors.Is(err, memcache.ErrNotStored) || m.now().After(deadline) || ctx.Err() != nil {
			if errors.Is(err, memcache.ErrNotStored) {
				m.stats.LockTimeouts.Add(1)
			}
			return nil
		}
		time.Sleep(wait)
		wait = min(wait*2, 50*time.Millisecond)
	}
}

func (t *Txn) releaseLock() {
	if t.lock == nil {
		return
	}
	id := lockPrefix + t.reqID
	t.lock.do("unlock", func(c *memcache.Client) error { return c.Delete(id) })
	t.lock = nil
}
