package verify

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/cookiejar"
	"net/url"
	"strings"
	"time"
)

// Session is the app's /api/session document (DESIGN.md's HTTP contract).
type Session struct {
	ID         string            `json:"id"`
	Server     string            `json:"server"`
	Node       string            `json:"node"`
	Created    string            `json:"created"`
	LastAccess string            `json:"last_access"`
	Attributes map[string]string `json:"attributes"`
}

// DefaultRequestTimeout bounds one request of a verify client: about as
// long as users and load balancers wait before giving up. A request that
// succeeds more slowly than a user would like is not a failure, but it
// shows in the worst latency.
const DefaultRequestTimeout = 30 * time.Second

// Client is one simulated browser: its own cookie jar (session and route
// cookies), talking to the proxy through the demo API.
type Client struct {
	base  *url.URL
	http  *http.Client
	route string // the sticky cookie's name
}

// NewClient returns a client of the proxy at base (such as
// "http://172.25.1.2/") whose sticky cookie is named route. Each client
// has its own connections, as separate browsers would.
func NewClient(base, route string, timeout time.Duration) (*Client, error) {
	u, err := url.Parse(base)
	if err != nil {
		return nil, fmt.Errorf("verify client: parse %q: %w", base, err)
	}
	jar, err := cookiejar.New(nil)
	if err != nil {
		return nil, fmt.Errorf("verify client: cookie jar: %w", err)
	}
	if timeout == 0 {
		timeout = DefaultRequestTimeout
	}
	// A fresh transport per client: a shared pool would let one client's
	// broken connection fail another's request.
	tr := &http.Transport{MaxIdleConnsPerHost: 2, IdleConnTimeout: 30 * time.Second}
	return &Client{base: u, route: route, http: &http.Client{Jar: jar, Timeout: timeout, Transport: tr}}, nil
}

// Close releases the client's idle connections.
func (c *Client) Close() { c.http.CloseIdleConnections() }

// Get fetches the client's session (the app creates one when there is none).
func (c *Client) Get(ctx context.Context) (*Session, error) {
	return c.do(ctx, http.MethodGet, "/api/session", "")
}

// Put sets the session attribute key to value.
func (c *Client) Put(ctx context.Context, key, value string) (*Session, error) {
	return c.do(ctx, http.MethodPut, "/api/session/attributes/"+url.PathEscape(key), value)
}

// Delete removes the session attribute key.
func (c *Client) Delete(ctx context.Context, key string) (*Session, error) {
	return c.do(ctx, http.MethodDelete, "/api/session/attributes/"+url.PathEscape(key), "")
}

func (c *Client) do(ctx context.Context, method, path, body string) (*Session, error) {
	u := c.base.ResolveReference(&url.URL{Path: path})
	req, err := http.NewRequestWithContext(ctx, method, u.String(), strings.NewReader(body))
	if err != nil {
		return nil, fmt.Errorf("%s %s: %w", method, path, err)
	}
	resp, err := c.http.Do(req)
	if err != nil {
		return nil, fmt.Errorf("%s %s: %w", method, path, err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(io.LimitReader(resp.Body, 1<<20))
	if err != nil {
		return nil, fmt.Errorf("%s %s: read body: %w", method, path, err)
	}
	if resp.StatusCode != http.StatusOK {
		return nil, fmt.Errorf("%s %s: %s: %s", method, path, resp.Status, firstLine(b))
	}
	var s Session
	if err := json.Unmarshal(b, &s); err != nil {
		return nil, fmt.Errorf("%s %s: decode session: %w", method, path, err)
	}
	return &s, nil
}

// Route is the client's current sticky cookie value, "" when it has none.
func (c *Client) Route() string { return c.cookie(c.route) }

// SetRoute points the client at the backend whose sticky cookie value is
// route, as a browser holding that cookie would be.
func (c *Client) SetRoute(route string) {
	c.http.Jar.SetCookies(c.base, []*http.Cookie{{Name: c.route, Value: route, Path: "/"}})
}

func (c *Client) cookie(name string) string {
	for _, ck := range c.http.Jar.Cookies(c.base) {
		if ck.Name == name {
			return ck.Value
		}
	}
	return ""
}

func firstLine(b []byte) string {
	s, _, _ := strings.Cut(strings.TrimSpace(string(b)), "\n")
	if len(s) > 200 {
		s = s[:200]
	}
	return s
}
