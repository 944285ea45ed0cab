package app

import (
	"context"
	"errors"
	"io"
)

// Main parses the agent's flags and runs it until ctx ends.
// PLACEHOLDER: replaced by the app agent implementation.
func Main(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	return errors.New("app agent: not built yet")
}
