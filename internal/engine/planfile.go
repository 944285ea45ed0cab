package engine

import (
	"encoding/json"
	"fmt"
	"os"
)

// SavePlan writes p to path (plan -out), readable only by its owner: it
// holds the agents' configs.
func SavePlan(path string, p *Plan) error {
	data, err := json.MarshalIndent(p, "", "  ")
	if err != nil {
		return fmt.Errorf("save plan: %w", err)
	}
	if err := writeAtomic(path, append(data, '\n')); err != nil {
		return fmt.Errorf("save plan: %w", err)
	}
	return nil
}

// LoadPlan reads a plan saved by SavePlan.
func LoadPlan(path string) (*Plan, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("load plan: %w", err)
	}
	var p Plan
	if err := json.Unmarshal(data, &p); err != nil {
		return nil, fmt.Errorf("load plan %s: not a stickyform plan file: %w", path, err)
	}
	if p.Format != planFormat {
		return nil, fmt.Errorf("load plan %s: format version %d; this stickyform reads %d", path, p.Format, planFormat)
	}
	return &p, nil
}
