package engine

import (
	"context"
	"errors"
	"fmt"
	"sort"
	"sync"
)

// node is one step of an apply: it runs after its dependencies succeeded.
type node struct {
	id   string
	deps []string
	run  func(ctx context.Context) error
}

// errSkipped marks a step not run because a dependency failed or the
// apply was interrupted.
var errSkipped = errors.New("engine: skipped")

// runGraph runs nodes in dependency order, at most parallelism at once.
// Once ctx ends no new step starts, but steps in flight finish (their
// context is not canceled: half-done work on a host is worse than a
// late exit). It returns each node's error (nil for success).
func runGraph(ctx context.Context, nodes []*node, parallelism int) (map[string]error, error) {
	if err := checkAcyclic(nodes); err != nil {
		return nil, err
	}
	done := make(map[string]chan struct{}, len(nodes))
	for _, n := range nodes {
		done[n.id] = make(chan struct{})
	}
	results := make(map[string]error, len(nodes))
	var resMu sync.Mutex
	setResult := func(id string, err error) {
		resMu.Lock()
		results[id] = err
		resMu.Unlock()
	}
	getResult := func(id string) error {
		resMu.Lock()
		defer resMu.Unlock()
		return results[id]
	}
	sem := make(chan struct{}, parallelism)
	runCtx := context.WithoutCancel(ctx)
	for _, n := range nodes {
		go func() {
			defer close(done[n.id])
			for _, d := range n.deps {
				<-done[d]
				if err := getResult(d); err != nil {
					setResult(n.id, fmt.Errorf("%w: %s did not complete", errSkipped, d))
					return
				}
			}
			select {
			case sem <- struct{}{}:
			case <-ctx.Done():
				setResult(n.id, fmt.Errorf("%w: interrupted", errSkipped))
				return
			}
			defer func() { <-sem }()
			if ctx.Err() != nil {
				setResult(n.id, fmt.Errorf("%w: interrupted", errSkipped))
				return
			}
			setResult(n.id, n.run(runCtx))
		}()
	}
	for _, n := range nodes {
		<-done[n.id]
	}
	return results, nil
}

// checkAcyclic reports a dependency cycle or a dependency on a missing
// node (both program bugs, but a deadlock is a worse way to find out).
func checkAcyclic(nodes []*node) error {
	byID := map[string]*node{}
	for _, n := range nodes {
		byID[n.id] = n
	}
	state := map[string]int{} // 0 new, 1 visiting, 2 done
	var visit func(id string) error
	visit = func(id string) error {
		switch state[id] {
		case 1:
			return fmt.Errorf("engine: dependency cycle through %s", id)
		case 2:
			return nil
		}
		n := byID[id]
		if n == nil {
			return fmt.Errorf("engine: dependency on unknown step %s", id)
		}
		state[id] = 1
		for _, d := range n.deps {
			if err := visit(d); err != nil {
				return err
			}
		}
		state[id] = 2
		return nil
	}
	ids := make([]string, 0, len(byID))
	for id := range byID {
		ids = append(ids, id)
	}
	sort.Strings(ids)
	for _, id := range ids {
		if err := visit(id); err != nil {
			return err
		}
	}
	return nil
}
