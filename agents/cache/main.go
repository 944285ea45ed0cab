package cache

import (
	"context"
	"errors"
	"io"
)

// Main parses the agent's flags and runs it until ctx ends.
// PLACEHOLDER: replaced by the cache agent implementation.
func Main(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	return errors.New("cache agent: not built yet")
}
