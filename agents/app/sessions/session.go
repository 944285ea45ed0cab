package sessions

import (
	"encoding/json"
	"fmt"
	"hash/fnv"
	"maps"
	"slices"
	"time"
)

// Session is one user's session as a request handler sees it. Handlers
// change Attributes freely; the store works out what changed at commit.
type Session struct {
	ID         string
	Node       string // the node id that stores it (the id's suffix)
	Created    time.Time
	LastAccess time.Time
	Attributes map[string]string
	// Version counts stored changes; it orders copies of one session.
	Version uint64
}

// record is the stored form. JSON keeps the cache contents readable with
// any memcached client, which matters more here than a few bytes.
type record struct {
	ID         string            `json:"id"`
	Created    int64             `json:"created"`     // unix ms
	LastAccess int64             `json:"last_access"` // unix ms
	Version    uint64            `json:"version"`
	Attributes map[string]string `json:"attributes"`
}

func encode(s *Session) []byte {
	b, err := json.Marshal(record{
		ID: s.ID, Created: s.Created.UnixMilli(), LastAccess: s.LastAccess.UnixMilli(),
		Version: s.Version, Attributes: s.Attributes,
	})
	if err != nil {
		panic("sessions: encode: " + err.Error()) // strings only: cannot fail
	}
	return b
}

// decode reads a stored session and checks that it is the one asked for,
// so that a foreign or corrupt value is never adopted.
func decode(b []byte, wantID string) (*Session, error) {
	var r record
	if err := json.Unmarshal(b, &r); err != nil {
		return nil, fmt.Errorf("decode session %s: %w", wantID, err)
	}
	if r.ID != wantID {
		return nil, fmt.Errorf("decode session %s: stored id is %q", wantID, r.ID)
	}
	node, _ := splitID(r.ID)
	if r.Attributes == nil {
		r.Attributes = map[string]string{}
	}
	return &Session{
		ID: r.ID, Node: node, Created: time.UnixMilli(r.Created), LastAccess: time.UnixMilli(r.LastAccess),
		Version: r.Version, Attributes: r.Attributes,
	}, nil
}

// clone copies s deeply so a request can change its copy freely.
func (s *Session) clone() *Session {
	c := *s
	c.Attributes = maps.Clone(s.Attributes)
	if c.Attributes == nil {
		c.Attributes = map[string]string{}
	}
	return &c
}

// contentHash covers what a write must carry: the id and the attributes.
// LastAccess is left out, or every read would become a write.
func contentHash(id string, attrs map[string]string) uint64 {
	h := fnv.New64a()
	h.Write([]byte(id))
	for _, k := range slices.Sorted(maps.Keys(attrs)) {
		h.Write([]byte{0})
		h.Write([]byte(k))
		h.Write([]byte{1})
		h.Write([]byte(attrs[k]))
	}
	return h.Sum64()
}

// change is what one request did to the attributes: keys set to a value,
// and keys deleted (nil). Applying it to a newer copy of the session is the
// attribute-level merge that lets parallel requests lose no update.
type change map[string]*string

func diff(before, after map[string]string) change {
	c := change{}
	for k, v := range after {
		if old, ok := before[k]; !ok || old != v {
			c[k] = &v
		}
	}
	for k := range before {
		if _, ok := after[k]; !ok {
			c[k] = nil
		}
	}
	return c
}

func (c change) applyTo(attrs map[string]string) {
	for k, v := range c {
		if v == nil {
			delete(attrs, k)
		} else {
			attrs[k] = *v
		}
	}
}
