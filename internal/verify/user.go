package verify

import (
	"context"
	"fmt"
	"maps"
	"slices"
	"strings"
)

// expectation is what an attribute may hold. A write whose request
// failed may or may not have been stored, so both outcomes are accepted.
type expectation struct {
	values   []string
	absentOK bool
}

// user is a Client plus what it knows it stored in its session, so that
// every response can be checked for an intact session.
type user struct {
	*Client
	expect map[string]expectation
}

func newUser(c *Client) *user { return &user{Client: c, expect: map[string]expectation{}} }

// put writes key=value and records the outcome in the expectation.
func (u *user) put(ctx context.Context, key, value string) (*Session, error) {
	s, err := u.Put(ctx, key, value)
	if err != nil {
		e, known := u.expect[key]
		e.values = append(e.values, value)
		e.absentOK = e.absentOK || !known
		u.expect[key] = e
		return nil, err
	}
	u.expect[key] = expectation{values: []string{value}}
	return s, nil
}

// del removes key and records it as gone.
func (u *user) del(ctx context.Context, key string) (*Session, error) {
	s, err := u.Delete(ctx, key)
	if err != nil {
		e := u.expect[key]
		e.absentOK = true
		u.expect[key] = e
		return nil, err
	}
	u.expect[key] = expectation{absentOK: true}
	return s, nil
}

// intact returns "" when s holds every attribute the user stored, else
// what is missing or wrong. Attributes the user never wrote are ignored.
func (u *user) intact(s *Session) string {
	var bad []string
	for _, k := range slices.Sorted(maps.Keys(u.expect)) {
		e := u.expect[k]
		got, ok := s.Attributes[k]
		switch {
		case !ok && !e.absentOK:
			bad = append(bad, k+" missing")
		case ok && !slices.Contains(e.values, got):
			bad = append(bad, fmt.Sprintf("%s=%q", k, got))
		}
	}
	if len(bad) == 0 {
		return ""
	}
	if len(bad) > 3 {
		bad = append(bad[:3], "...")
	}
	return fmt.Sprintf("session %s on %s lost attributes: %s", s.ID, s.Server, strings.Join(bad, ", "))
}

// rebase makes what s holds the user's new expectation.
func (u *user) rebase(s *Session) {
	u.expect = map[string]expectation{}
	for k, v := range s.Attributes {
		u.expect[k] = expectation{values: []string{v}}
	}
}
