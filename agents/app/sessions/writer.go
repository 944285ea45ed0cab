package sessions

import (
	"context"
	"sync"
)

// writer is sticky mode's write-behind: a bounded queue drained by a few
// workers, so the request that changed a session does not wait for the
// cache. When the queue is full the request writes its session itself:
// back-pressure instead of unbounded memory or lost writes.
type writer struct {
	m      *Manager
	q      chan *entry
	mu     sync.RWMutex // guards closed against sends on a closed q
	closed bool
	wg     sync.WaitGroup
}

const writeWorkers = 4

func newWriter(m *Manager, size int) *writer {
	w := &writer{m: m, q: make(chan *entry, size)}
	for range writeWorkers {
		w.wg.Add(1)
		go func() {
			defer w.wg.Done()
			for e := range w.q {
				m.flush(e)
			}
		}()
	}
	return w
}

func (w *writer) enqueue(e *entry) {
	e.mu.Lock()
	if e.queued {
		e.mu.Unlock()
		return // the queued write will carry this change too
	}
	e.queued = true
	e.mu.Unlock()

	w.mu.RLock()
	if !w.closed {
		select {
		case w.q <- e:
			w.mu.RUnlock()
			return
		default:
			w.m.stats.QueueFull.Add(1)
		}
	}
	w.mu.RUnlock()
	w.m.flush(e)
}

// close stops the queue, lets the workers write what is queued, then
// writes every session still dirty (a write that failed earlier, or one
// changed after its queued write ran). ctx bounds the wait.
func (w *writer) close(ctx context.Context) error {
	w.mu.Lock()
	if !w.closed {
		w.closed = true
		close(w.q)
	}
	w.mu.Unlock()
	done := make(chan struct{})
	go func() {
		w.wg.Wait()
		for _, e := range w.m.dirty() {
			if ctx.Err() != nil {
				break
			}
			w.m.flush(e)
		}
		close(done)
	}()
	select {
	case <-done:
		return nil
	case <-ctx.Done():
		return context.Cause(ctx)
	}
}
