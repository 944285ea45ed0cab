package hclspec

import (
	"strings"
)

// slug is the instance name made safe for file names and systemd units:
// `web["server7"]` becomes "web-server7" and `web[0]` becomes "web-0";
// a plain name is unchanged. Validation keeps slugs unique per kind.
func slug(name string) string {
	var b strings.Builder
	dash := false
	for _, r := range name {
		ok := r == '_' || r == '-' || r == '.' || r >= '0' && r <= '9' || r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z'
		switch {
		case ok:
			b.WriteRune(r)
			dash = false
		case !dash && b.Len() > 0:
			b.WriteByte('-')
			dash = true
		}
	}
	return strings.TrimRight(b.String(), "-")
}

// Slug is Name made safe for file and unit names, e.g. "web-server7".
func (h *Host) Slug() string { return slug(h.Name) }

// Slug is Name made safe for file and unit names, e.g. "n-server7".
func (c *Cache) Slug() string { return slug(c.Name) }

// Slug is Name made safe for file and unit names, e.g. "web-server7".
func (a *App) Slug() string { return slug(a.Name) }

// Slug is Name made safe for file and unit names.
func (p *Proxy) Slug() string { return slug(p.Name) }

// NodeID is the memcached-session-manager node id of the cache: letters,
// digits and underscores only, because session ids end in "-NODEID"
// (e.g. "n1", or "n_server7" for `n["server7"]`). Unique per config.
func (c *Cache) NodeID() string {
	return strings.NewReplacer("-", "_", ".", "_").Replace(c.Slug())
}
