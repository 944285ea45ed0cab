package proxy

import (
	"time"
)

// A backend whose host is cut off answers nothing: requests already sent
// to it would wait the whole read timeout before being retried. Once health
// accounting (active or passive) marks it down, the idempotent requests
// still waiting for its first response byte are aborted and retried on a
// live backend at once. Requests that cannot be replayed keep waiting, as
// nginx would let them: the backend may still answer them.

// abortWaiting cuts short the waits of the requests armed on b's
// connections and returns how many it aborted. Connections are registered
// at dial and removed at close, so the request path takes no extra lock.
func (b *backend) abortWaiting() int {
	b.mu.Lock()
	defer b.mu.Unlock()
	n := 0
	for c := range b.open {
		if c.wait.CompareAndSwap(waitArmed, waitAborted) {
			// A deadline in the past wakes the reader blocked in the
			// poller with a timeout error.
			_ = c.Conn.SetReadDeadline(time.Unix(1, 0))
			n++
		}
	}
	b.aborted.Add(uint64(n))
	return n
}

// wentDown aborts the waits on b when another backend of st can take the
// retries; with none, aborting would only turn slow answers into errors.
func (st *state) wentDown(b *backend) int {
	if st.otherAvailable(b) {
		return b.abortWaiting()
	}
	return 0
}

// otherAvailable reports whether a backend other than b takes requests.
func (st *state) otherAvailable(b *backend) bool {
	now := time.Now()
	for _, o := range st.backends {
		if o != b && o.available(now) {
			return true
		}
	}
	return false
}

// clearPassive lifts a passive mark and forgets counted failures.
func (b *backend) clearPassive() {
	b.mu.Lock()
	defer b.mu.Unlock()
	b.fails.Store(0)
	b.downTill.Store(0)
}

// checkPassed records an active success of a check started at t0. After
// rise consecutive successes b is up for active checks, and a passive mark
// made before those checks is lifted too: the backend was restarted, or
// its trouble is over. It reports whether b came up and whether a passive
// mark was lifted.
func (b *backend) checkPassed(t0 time.Time, rise int) (up, lifted bool) {
	if t0.UnixNano() < b.markedAt.Load() {
		return false, false // started before a passive mark: says nothing after it
	}
	b.checkDowns.Store(0)
	if b.checkUps.Add(1) < int32(rise) {
		return false, false
	}
	up = b.activeDown.Swap(false)
	if b.downTill.Load() > time.Now().UnixNano() {
		b.clearPassive()
		lifted = true
	}
	return up, lifted
}

// checkFailed records an active check failure, or a failed connect by live
// traffic (which is as good a sign of a silent host as a failed check). It
// reports whether this failure marked b down.
func (b *backend) checkFailed(fall int) bool {
	b.checkUps.Store(0)
	if b.checkDowns.Add(1) < int32(fall) {
		return false
	}
	return !b.activeDown.Swap(true)
}

// changing reports a status in transition: failures against an up
// backend, or successes towards lifting a down one.
func (b *backend) changing() bool {
	down := b.activeDown.Load() || b.downTill.Load() > time.Now().UnixNano()
	if down {
		return b.checkUps.Load() > 0
	}
	return b.checkDowns.Load() > 0
}
