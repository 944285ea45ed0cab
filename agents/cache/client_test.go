package cache

import (
	"errors"
	"testing"

	"github.com/bradfitz/gomemcache/memcache"
)

// TestClientView drives the agent and real memcached through an unmodified
// client library, gomemcache, and expects the same results from both.
func TestClientView(t *testing.T) {
	for _, tg := range targets(t) {
		t.Run(tg.name, func(t *testing.T) {
			mc := memcache.New(tg.addr)
			defer mc.Close()
			for _, tc := range clientCases {
				t.Run(tc.name, func(t *testing.T) { tc.run(t, mc) })
			}
		})
	}
}

var clientCases = []struct {
	name string
	run  func(t *testing.T, mc *memcache.Client)
}{
	{"ping", func(t *testing.T, mc *memcache.Client) {
		if err := mc.Ping(); err != nil {
			t.Errorf("Ping: got %v; want nil", err)
		}
	}},
	{"set get", func(t *testing.T, mc *memcache.Client) {
		must(t, mc.Set(&memcache.Item{Key: "cv-a", Value: []byte("hello"), Flags: 42}))
		it, err := mc.Get("cv-a")
		if err != nil || string(it.Value) != "hello" || it.Flags != 42 {
			t.Errorf("Get: got %+v, %v; want hello/42", it, err)
		}
	}},
	{"miss", func(t *testing.T, mc *memcache.Client) {
		if _, err := mc.Get("cv-none"); !errors.Is(err, memcache.ErrCacheMiss) {
			t.Errorf("Get missing: got %v; want ErrCacheMiss", err)
		}
	}},
	{"get multi", func(t *testing.T, mc *memcache.Client) {
		must(t, mc.Set(&memcache.Item{Key: "cv-m1", Value: []byte("1")}))
		must(t, mc.Set(&memcache.Item{Key: "cv-m2", Value: []byte("2")}))
		got, err := mc.GetMulti([]string{"cv-m1", "cv-m2", "cv-m3"})
		if err != nil || len(got) != 2 || string(got["cv-m2"].Value) != "2" {
			t.Errorf("GetMulti: got %v, %v; want 2 items", got, err)
		}
	}},
	{"add replace", func(t *testing.T, mc *memcache.Client) {
		must(t, mc.Add(&memcache.Item{Key: "cv-ar", Value: []byte("x")}))
		if err := mc.Add(&memcache.Item{Key: "cv-ar", Value: []byte("y")}); !errors.Is(err, memcache.ErrNotStored) {
			t.Errorf("second Add: got %v; want ErrNotStored", err)
		}
		if err := mc.Replace(&memcache.Item{Key: "cv-none2", Value: []byte("y")}); !errors.Is(err, memcache.ErrNotStored) {
			t.Errorf("Replace missing: got %v; want ErrNotStored", err)
		}
		must(t, mc.Replace(&memcache.Item{Key: "cv-ar", Value: []byte("z")}))
		wantValue(t, mc, "cv-ar", "z")
	}},
	{"append prepend", func(t *testing.T, mc *memcache.Client) {
		must(t, mc.Set(&memcache.Item{Key: "cv-ap", Value: []byte("b")}))
		must(t, mc.Append(&memcache.Item{Key: "cv-ap", Value: []byte("c")}))
		must(t, mc.Prepend(&memcache.Item{Key: "cv-ap", Value: []byte("a")}))
		wantValue(t, mc, "cv-ap", "abc")
	}},
	{"compare and swap", func(t *testing.T, mc *memcache.Client) {
		must(t, mc.Set(&memcache.Item{Key: "cv-cas", Value: []byte("1")}))
		it, err := mc.Get("cv-cas")
		must(t, err)
		it2, err := mc.Get("cv-cas")
		must(t, err)
		it.Value = []byte("2")
		must(t, mc.CompareAndSwap(it))
		it2.Value = []byte("3")
		if err := mc.CompareAndSwap(it2); !errors.Is(err, memcache.ErrCASConflict) {
			t.Errorf("stale CompareAndSwap: got %v; want ErrCASConflict", err)
		}
		wantValue(t, mc, "cv-cas", "2")
	}},
	{"incr decr", func(t *testing.T, mc *memcache.Client) {
		must(t, mc.Set(&memcache.Item{Key: "cv-n", Value: []byte("5")}))
		if v, err := mc.Increment("cv-n", 10); err != nil || v != 15 {
			t.Errorf("Increment: got %d, %v; want 15", v, err)
		}
		if v, err := mc.Decrement("cv-n", 100); err != nil || v != 0 {
			t.Errorf("Decrement: got %d, %v; want 0", v, err)
		}
		if _, err := mc.Increment("cv-nx", 1); !errors.Is(err, memcache.ErrCacheMiss) {
			t.Errorf("Increment missing: got %v; want ErrCacheMiss", err)
		}
	}},
	{"delete", func(t *testing.T, mc *memcache.Client) {
		must(t, mc.Set(&memcache.Item{Key: "cv-d", Value: []byte("x")}))
		must(t, mc.Delete("cv-d"))
		if err := mc.Delete("cv-d"); !errors.Is(err, memcache.ErrCacheMiss) {
			t.Errorf("second Delete: got %v; want ErrCacheMiss", err)
		}
	}},
	{"touch and get and touch", func(t *testing.T, mc *memcache.Client) {
		must(t, mc.Set(&memcache.Item{Key: "cv-t", Value: []byte("x")}))
		must(t, mc.Touch("cv-t", 100))
		it, err := mc.GetAndTouch("cv-t", 100)
		if err != nil || string(it.Value) != "x" {
			t.Errorf("GetAndTouch: got %+v, %v; want x", it, err)
		}
		if err := mc.Touch("cv-tx", 100); !errors.Is(err, memcache.ErrCacheMiss) {
			t.Errorf("Touch missing: got %v; want ErrCacheMiss", err)
		}
	}},
	{"large value", func(t *testing.T, mc *memcache.Client) {
		v := make([]byte, 1000000)
		for i := range v {
			v[i] = byte(i)
		}
		must(t, mc.Set(&memcache.Item{Key: "cv-big", Value: v}))
		wantValue(t, mc, "cv-big", string(v))
	}},
	{"flush all", func(t *testing.T, mc *memcache.Client) {
		must(t, mc.Set(&memcache.Item{Key: "cv-f", Value: []byte("x")}))
		must(t, mc.FlushAll())
		if _, err := mc.Get("cv-f"); !errors.Is(err, memcache.ErrCacheMiss) {
			t.Errorf("Get after FlushAll: got %v; want ErrCacheMiss", err)
		}
	}},
}

func must(t *testing.T, err error) {
	t.Helper()
	if err != nil {
		t.Fatalf("unexpected error: %v", err)
	}
}

func wantValue(t *testing.T, mc *memcache.Client, key, want string) {
	t.Helper()
	it, err := mc.Get(key)
	if err != nil {
		t.Fatalf("Get %s: %v", key, err)
	}
	if string(it.Value) != want {
		t.Errorf("Get %s: got %q; want %q", key, abbrev(string(it.Value)), abbrev(want))
	}
}
