package sessions

import (
	"maps"
	"testing"
)

// TestMergeStored: after a lapse, the stored copy wins for attributes
// another app changed since the local copy's base; local changes not yet
// stored survive for the others.
func TestMergeStored(t *testing.T) {
	tests := []struct {
		name                string
		base, local, stored map[string]string
		want                map[string]string
	}{
		{"local in sync, stored moved on", map[string]string{"k6": "v44"}, map[string]string{"k6": "v44"},
			map[string]string{"k6": "v60", "k7": "x"}, map[string]string{"k6": "v60", "k7": "x"}},
		{"unstored local change to an attribute the other app changed", map[string]string{"k6": "v43"}, map[string]string{"k6": "v44"},
			map[string]string{"k6": "v60"}, map[string]string{"k6": "v60"}},
		{"unstored local change kept when the stored copy did not move", map[string]string{"a": "1"}, map[string]string{"a": "2"},
			map[string]string{"a": "1"}, map[string]string{"a": "2"}},
		{"unstored local change kept beside another app's change", map[string]string{"a": "1", "b": "1"}, map[string]string{"a": "2", "b": "1"},
			map[string]string{"a": "1", "b": "3"}, map[string]string{"a": "2", "b": "3"}},
		{"other app's delete wins", map[string]string{"a": "1"}, map[string]string{"a": "1"},
			map[string]string{}, map[string]string{}},
		{"never stored before", nil, map[string]string{"a": "1"},
			map[string]string{"b": "2"}, map[string]string{"a": "1", "b": "2"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			e := &entry{s: &Session{ID: "x", Attributes: cloneAttrs(tt.local)}, base: tt.base, baseVersion: 1}
			mergeStored(e, &Session{ID: "x", Version: 7, Attributes: cloneAttrs(tt.stored)})
			if !maps.Equal(e.s.Attributes, tt.want) {
				t.Errorf("got %v; want %v", e.s.Attributes, tt.want)
			}
			if !maps.Equal(e.base, tt.stored) || e.baseVersion != 7 || e.s.Version != 7 {
				t.Errorf("got base %v version %d/%d; want the stored copy %v, version 7", e.base, e.baseVersion, e.s.Version, tt.stored)
			}
		})
	}
}
