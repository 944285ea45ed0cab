package verify

import (
	"context"
	"fmt"
	"sync"
	"time"
)

// Stats counts what users felt during a stretch of time.
type Stats struct {
	Requests int
	// Errors are requests that failed: no answer, a non-200 status, or an
	// answer that was not a session document.
	Errors int
	// Lost counts answers whose session no longer held what the user had
	// stored in it (a lost or rolled-back session).
	Lost int
	// Worst is the longest request, failed ones included.
	Worst time.Duration
	// Servers counts successful answers per app server name.
	Servers map[string]int
	// Problems holds the first few failures, for the report's detail.
	Problems []string
}

const maxProblems = 3

// record adds one request's outcome. problem is "" for a good answer.
func (s *Stats) record(d time.Duration, server string, failed, lost bool, problem string) {
	s.Requests++
	s.Worst = max(s.Worst, d)
	switch {
	case failed:
		s.Errors++
	case lost:
		s.Lost++
	}
	if !failed {
		if s.Servers == nil {
			s.Servers = map[string]int{}
		}
		s.Servers[server]++
	}
	if problem != "" && len(s.Problems) < maxProblems {
		s.Problems = append(s.Problems, problem)
	}
}

// add merges o into s.
func (s *Stats) add(o Stats) {
	s.Requests += o.Requests
	s.Errors += o.Errors
	s.Lost += o.Lost
	s.Worst = max(s.Worst, o.Worst)
	for k, v := range o.Servers {
		if s.Servers == nil {
			s.Servers = map[string]int{}
		}
		s.Servers[k] += v
	}
	for _, p := range o.Problems {
		if len(s.Problems) < maxProblems {
			s.Problems = append(s.Problems, p)
		}
	}
}

// observe runs one request of u, checks the answer and records it.
func (s *Stats) observe(u *user, req func() (*Session, error)) (*Session, error) {
	start := time.Now()
	sess, err := req()
	d := time.Since(start)
	if err != nil {
		s.record(d, "", true, false, err.Error())
		return nil, err
	}
	problem := u.intact(sess)
	s.record(d, sess.Server, false, problem != "", problem)
	if problem != "" {
		// Count the loss once, then expect what the session holds now, so
		// one lost session is one lost answer, not every answer after it.
		u.rebase(sess)
		return sess, fmt.Errorf("%s", problem)
	}
	return sess, nil
}

// Stream is a steady load of simulated users, each with its own cookie
// jar, writing attributes into its session and reading them back through
// the proxy, one request at a time with a short pause, as browsers do.
type Stream struct {
	cancel context.CancelFunc
	wg     sync.WaitGroup
	mu     sync.Mutex
	stats  Stats
}

// DefaultPause is the think time between two requests of one stream user.
const DefaultPause = 10 * time.Millisecond

// StartStream starts users simulated users against the proxy at base.
func StartStream(ctx context.Context, base, route string, users int, timeout time.Duration) (*Stream, error) {
	ctx, cancel := context.WithCancel(ctx)
	s := &Stream{cancel: cancel}
	for i := range users {
		c, err := NewClient(base, route, timeout)
		if err != nil {
			cancel()
			s.wg.Wait()
			return nil, err
		}
		s.wg.Add(1)
		go s.run(ctx, i, newUser(c))
	}
	return s, nil
}

// run alternates writing an attribute and reading the session; both
// answers must hold everything the user stored before.
func (s *Stream) run(ctx context.Context, id int, u *user) {
	defer s.wg.Done()
	defer u.Close()
	for seq := 0; ctx.Err() == nil; seq++ {
		var local Stats
		if seq%2 == 0 {
			// A bounded set of keys keeps sessions small however long it runs.
			key, val := fmt.Sprintf("stream%d-k%d", id, seq/2%8), fmt.Sprintf("v%d", seq)
			local.observe(u, func() (*Session, error) { return u.put(ctx, key, val) })
		} else {
			local.observe(u, func() (*Session, error) { return u.Get(ctx) })
		}
		if ctx.Err() != nil && local.Errors > 0 {
			return // the stream was stopped mid-request: not a user-visible failure
		}
		s.mu.Lock()
		s.stats.add(local)
		s.mu.Unlock()
		select {
		case <-ctx.Done():
		case <-time.After(DefaultPause):
		}
	}
}

// Snapshot returns the figures so far.
func (s *Stream) Snapshot() Stats {
	s.mu.Lock()
	defer s.mu.Unlock()
	st := s.stats
	st.Servers = map[string]int{}
	for k, v := range s.stats.Servers {
		st.Servers[k] = v
	}
	st.Problems = append([]string(nil), s.stats.Problems...)
	return st
}

// Stop ends the stream, waits for its users and returns the figures.
func (s *Stream) Stop() Stats {
	s.cancel()
	s.wg.Wait()
	return s.Snapshot()
}
