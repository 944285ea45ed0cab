package engine

import (
	"fmt"
	"io"
	"sync"
	"time"
)

// progress writes apply's lines, Terraform style, from many goroutines.
type progress struct {
	mu    sync.Mutex
	w     io.Writer
	still time.Duration
}

func (p *progress) printf(format string, args ...any) {
	p.mu.Lock()
	defer p.mu.Unlock()
	fmt.Fprintf(p.w, format, args...)
}

// verbs are the words of one kind of step: "Creating...", "Still
// creating...", "Creation complete".
type verbs struct{ ing, still, done string }

func verbsFor(a Action) verbs {
	switch a {
	case Create:
		return verbs{"Creating", "creating", "Creation complete"}
	case Update:
		return verbs{"Modifying", "modifying", "Modifications complete"}
	case Replace:
		return verbs{"Replacing", "replacing", "Replacement complete"}
	case Delete:
		return verbs{"Destroying", "destroying", "Destruction complete"}
	}
	return verbs{"Applying", "applying", "Apply complete"}
}

// track runs fn, printing its start, a "Still ..." line every interval
// while it runs, and its end with the elapsed time.
func (p *progress) track(label, detail string, v verbs, fn func() error) error {
	start := time.Now()
	p.printf("%s: %s...%s\n", label, v.ing, detail)
	stop := make(chan struct{})
	var wg sync.WaitGroup
	wg.Add(1)
	go func() {
		defer wg.Done()
		t := time.NewTicker(p.still)
		defer t.Stop()
		for {
			select {
			case <-stop:
				return
			case <-t.C:
				p.printf("%s: Still %s... [%s elapsed]\n", label, v.still, elapsedString(time.Since(start)))
			}
		}
	}()
	err := fn()
	close(stop)
	wg.Wait()
	if err != nil {
		p.printf("%s: failed after %s\n", label, elapsedString(time.Since(start)))
		return err
	}
	p.printf("%s: %s after %s\n", label, v.done, elapsedString(time.Since(start)))
	return nil
}
