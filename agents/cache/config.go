package cache

import (
	"errors"
	"fmt"
	"github.com/stickyform/stickyform/agents/agentconfig"
	"net"
)

// Engine names accepted in Config.Engine.
const (
	EngineBuiltin   = "builtin"
	EngineMemcached = "memcached"
)

// Defaults applied by Config.withDefaults to zero fields.
const (
	DefaultMemoryMB    = 64
	DefaultMaxItemSize = 1 << 20
	DefaultMaxConns    = 1024
)

// Config is the cache agent's configuration, as written by the engine to
// /etc/stickyform/cache-<name>.json. Zero values mean the defaults above;
// an empty Engine means EngineBuiltin.
type Config struct {
	Name        string `json:"name"`
	Listen      string `json:"listen"`
	MemoryMB    int    `json:"memory_mb"`
	MaxItemSize int    `json:"max_item_size"`
	MaxConns    int    `json:"max_conns"`
	Engine      string `json:"engine"`
}

// LoadConfig reads a Config from a JSON file. Unknown fields are an error,
// so a typo in a deployed file fails loudly instead of being ignored.
func LoadConfig(path string) (Config, error) {
	var c Config
	if err := agentconfig.Load(path, "cache", &c); err != nil {
		return Config{}, err
	}
	return c, nil
}

// withDefaults returns c with zero fields set to their defaults.
func (c Config) withDefaults() Config {
	if c.MemoryMB == 0 {
		c.MemoryMB = DefaultMemoryMB
	}
	if c.MaxItemSize == 0 {
		c.MaxItemSize = DefaultMaxItemSize
	}
	if c.MaxConns == 0 {
		c.MaxConns = DefaultMaxConns
	}
	if c.Engine == "" {
		c.Engine = EngineBuiltin
	}
	return c
}

// validate reports the first problem with a defaulted Config.
func (c Config) validate() error {
	if c.Listen == "" {
		return errors.New("listen address is required")
	}
	if _, _, err := net.SplitHostPort(c.Listen); err != nil {
		return fmt.Errorf("listen address %q: %w", c.Listen, err)
	}
	if c.MemoryMB < 1 {
		return fmt.Errorf("memory_mb %d: must be at least 1", c.MemoryMB)
	}
	if c.MaxItemSize < 1024 || c.MaxItemSize > 1<<30 {
		return fmt.Errorf("max_item_size %d: must be between 1k and 1g", c.MaxItemSize)
	}
	if c.MaxItemSize > c.MemoryMB<<20 {
		return fmt.Errorf("max_item_size %d: larger than memory_mb %d", c.MaxItemSize, c.MemoryMB)
	}
	if c.MaxConns < 1 {
		return fmt.Errorf("max_conns %d: must be at least 1", c.MaxConns)
	}
	if c.Engine != EngineBuiltin && c.Engine != EngineMemcached {
		return fmt.Errorf("engine %q: want %q or %q", c.Engine, EngineBuiltin, EngineMemcached)
	}
	return nil
}
