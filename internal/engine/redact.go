package engine

import "encoding/json"

// Redacted returns a copy of p for display (plan -json): secret config
// values, such as the sticky cookie's HMAC key, are replaced. A saved
// plan keeps them, as apply needs them.
func (p *Plan) Redacted() *Plan {
	c := *p
	c.Changes = make([]*Change, len(p.Changes))
	for i, ch := range p.Changes {
		cc := *ch
		if ch.Before != nil {
			b := *ch.Before
			b.Config = redactConfig(b.Config)
			cc.Before = &b
		}
		if ch.After != nil {
			a := *ch.After
			a.Config = redactConfig(a.Config)
			cc.After = &a
		}
		c.Changes[i] = &cc
	}
	return &c
}

func redactConfig(raw json.RawMessage) json.RawMessage {
	var v any
	if len(raw) == 0 || json.Unmarshal(raw, &v) != nil {
		return raw
	}
	redactValue(v)
	out, err := json.Marshal(v)
	if err != nil {
		return raw
	}
	return out
}

func redactValue(v any) {
	switch t := v.(type) {
	case map[string]any:
		for k, e := range t {
			if s, ok := e.(string); ok && s != "" && isSecret(k) {
				t[k] = "(sensitive value)"
				continue
			}
			redactValue(e)
		}
	case []any:
		for _, e := range t {
			redactValue(e)
		}
	}
}
