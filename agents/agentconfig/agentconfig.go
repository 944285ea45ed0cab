// Package agentconfig is what the three agents' config files have in
// common: strict JSON loading (a typo in a generated file fails at start
// instead of being ignored) and durations written as Go duration strings.
// Like the agents, it imports nothing of HCL, SSH or the engine.
package agentconfig

import (
	"bytes"
	"encoding/json"
	"fmt"
	"os"
	"time"
)

// Duration is a time.Duration that reads and writes JSON strings in Go
// syntax ("30m", "2s"), the form the engine writes into agent config files.
// An empty string is zero, which every agent reads as "use the default".
type Duration time.Duration

// MarshalJSON writes the duration as a Go duration string.
func (d Duration) MarshalJSON() ([]byte, error) {
	return json.Marshal(time.Duration(d).String())
}

// UnmarshalJSON reads a Go duration string such as "30m".
func (d *Duration) UnmarshalJSON(b []byte) error {
	var s string
	if err := json.Unmarshal(b, &s); err != nil {
		return fmt.Errorf("duration must be a string like \"30m\": %w", err)
	}
	if s == "" {
		*d = 0
		return nil
	}
	v, err := time.ParseDuration(s)
	if err != nil {
		return err
	}
	*d = Duration(v)
	return nil
}

// Load decodes the JSON object in the file at path into v. Unknown fields
// and trailing data are errors. role names the agent in error messages.
func Load(path, role string, v any) error {
	b, err := os.ReadFile(path)
	if err != nil {
		return fmt.Errorf("load %s config: %w", role, err)
	}
	dec := json.NewDecoder(bytes.NewReader(b))
	dec.DisallowUnknownFields()
	if err := dec.Decode(v); err != nil {
		return fmt.Errorf("load %s config %s: %w", role, path, err)
	}
	if dec.More() {
		return fmt.Errorf("load %s config %s: trailing data after the JSON object", role, path)
	}
	return nil
}
