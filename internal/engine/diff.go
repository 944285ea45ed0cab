package engine

import (
	"encoding/json"
	"sort"
	"strconv"
	"strings"
)

// attrDiff compares a deployed resource with the desired one attribute
// by attribute: the host, each field of the agent config (nested fields
// flattened as "sticky.name", "backends[0].url") and the binary. With
// prior nil every attribute is new; with d nil every one goes away. Only
// differing attributes are returned, in display order.
func attrDiff(prior *ResourceState, d *Resource, oldBin, newBin string) []AttrChange {
	var oldAttrs, newAttrs map[string]string
	if prior != nil {
		oldAttrs = flattenConfig(prior.Config)
		oldAttrs["host"] = quote(prior.HostName)
		if oldBin == "" {
			oldBin = prior.BinarySHA256
		}
		if oldBin != "" {
			oldAttrs["binary_sha256"] = quote(short(oldBin))
		}
	}
	if d != nil {
		newAttrs = flattenConfig(d.Config)
		newAttrs["host"] = quote(d.Host.Name)
		if newBin != "" {
			newAttrs["binary_sha256"] = quote(short(newBin))
		}
	}
	var out []AttrChange
	for _, k := range attrOrder(oldAttrs, newAttrs) {
		o, n := oldAttrs[k], newAttrs[k]
		if o != n {
			out = append(out, AttrChange{Name: k, Old: mask(k, o), New: mask(k, n)})
		}
	}
	return out
}

// isSecret reports whether an attribute holds a secret (the sticky
// cookie's HMAC key), never shown in plans.
func isSecret(name string) bool { return strings.HasSuffix(name, "hmac_key") }

// mask hides secret values from plans.
func mask(name, value string) string {
	if isSecret(name) && value != "" && value != `""` {
		return `(sensitive value)`
	}
	return value
}

// attrOrder is host first, the config's attributes sorted, binary last.
func attrOrder(maps ...map[string]string) []string {
	seen := map[string]bool{}
	var keys []string
	for _, m := range maps {
		for k := range m {
			if !seen[k] && k != "host" && k != "binary_sha256" {
				seen[k] = true
				keys = append(keys, k)
			}
		}
	}
	sort.Strings(keys)
	return append(append([]string{"host"}, keys...), "binary_sha256")
}

// markForcing flags the attributes that force a replacement.
func markForcing(attrs []AttrChange) {
	for i := range attrs {
		if attrs[i].Name == "host" || attrs[i].Name == "listen" {
			attrs[i].ForcesReplace = true
		}
	}
}

// flattenConfig turns an agent config JSON object into attribute name →
// JSON literal.
func flattenConfig(raw json.RawMessage) map[string]string {
	out := map[string]string{}
	var v any
	if len(raw) == 0 || json.Unmarshal(raw, &v) != nil {
		return out
	}
	flatten("", v, out)
	return out
}

func flatten(prefix string, v any, out map[string]string) {
	switch t := v.(type) {
	case map[string]any:
		for k, e := range t {
			name := k
			if prefix != "" {
				name = prefix + "." + k
			}
			flatten(name, e, out)
		}
	case []any:
		if len(t) == 0 {
			out[prefix] = "[]"
		}
		for i, e := range t {
			flatten(prefix+"["+strconv.Itoa(i)+"]", e, out)
		}
	default:
		b, _ := json.Marshal(t)
		out[prefix] = string(b)
	}
}

func quote(s string) string {
	b, _ := json.Marshal(s)
	return string(b)
}

func short(sum string) string {
	if len(sum) > 12 {
		return sum[:12]
	}
	return sum
}
