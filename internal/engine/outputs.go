package engine

import (
	"fmt"

	ctyjson "github.com/zclconf/go-cty/cty/json"

	"github.com/stickyform/stickyform/hclspec"
)

// outputs turns the configuration's outputs into their state form.
func outputs(cfg *hclspec.Config) (map[string]OutputState, error) {
	out := map[string]OutputState{}
	for _, o := range cfg.Outputs {
		val, _ := o.Value.UnmarkDeep()
		if !val.IsWhollyKnown() {
			return nil, fmt.Errorf("output %s: value is not known", o.Name)
		}
		v, err := ctyjson.Marshal(val, val.Type())
		if err != nil {
			return nil, fmt.Errorf("output %s: %w", o.Name, err)
		}
		t, err := ctyjson.MarshalType(val.Type())
		if err != nil {
			return nil, fmt.Errorf("output %s: %w", o.Name, err)
		}
		out[o.Name] = OutputState{Value: v, Type: t, Sensitive: o.Sensitive}
	}
	return out, nil
}
