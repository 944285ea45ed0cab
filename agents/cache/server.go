package cache

import (
	"errors"
	"io"
	"log/slog"
	"net"
	"sync"
	"sync/atomic"
	"time"
)

// Buffer sizes per connection. The read buffer must hold memcached's
// 2048-byte command line limit; values larger than a buffer bypass it.
const (
	readBufSize = 4096
	// maxLine is how much of a command line may wait without a newline.
	maxLine      = 2048
	writeBufSize = 8192
	// maxGetLine bounds a multi-key get line, which memcached lets grow
	// past the normal line limit.
	maxGetLine = 1 << 20
	// sweepInterval and sweepBudget pace the background reclaim of
	// expired items: a bounded slice of every shard each interval.
	sweepInterval = time.Second
	sweepBudget   = 512
)

// ProtocolVersion is the memcached release whose protocol the server speaks,
// reported by "version" and the "version" stat. It must stay plain
// MAJOR.MINOR.PATCH: clients parse it (the npm "memcached" client crashes on
// "1.6.18-stickyform-dev", and a suffix ending in digits would be read as
// the version); the build is reported apart, as "stickyform_version".
const ProtocolVersion = "1.6.18"

// ServerConfig configures a Server. Zero values take the defaults of
// Config (64 MiB, 1 MiB items, 1024 connections).
type ServerConfig struct {
	MemoryBytes int64            // item memory limit
	MaxItemSize int              // largest item, counted as memcached does
	MaxConns    int              // connections served at once
	Loops       int              // event loops serving TCP (Linux); zero means GOMAXPROCS
	Version     string           // reported by "version"; empty means ProtocolVersion
	Ident       string           // this build, reported as the "stickyform_version" stat
	Now         func() time.Time // clock for expiry; nil means time.Now
	Logger      *slog.Logger     // nil discards
}

// A Server speaks the memcached text and binary protocols over a store.
type Server struct {
	cfg     ServerConfig
	st      *store
	start   time.Time
	log     *slog.Logger
	verbose atomic.Int32

	currConns, totalConns, rejected atomic.Int64
	tooLarge, flushes               atomic.Int64

	mu     sync.Mutex
	lns    map[net.Listener]struct{}
	conns  map[net.Conn]struct{}
	closed bool
	loops  loops
	wg     sync.WaitGroup
	stop   chan struct{}
}

// NewServer returns a Server; its background sweeper runs until Close.
func NewServer(cfg ServerConfig) *Server {
	d := Config{}.withDefaults()
	if cfg.MemoryBytes <= 0 {
		cfg.MemoryBytes = int64(d.MemoryMB) << 20
	}
	if cfg.MaxItemSize <= 0 {
		cfg.MaxItemSize = d.MaxItemSize
	}
	if cfg.MaxConns <= 0 {
		cfg.MaxConns = d.MaxConns
	}
	if cfg.Version == "" {
		cfg.Version = ProtocolVersion
	}
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	if cfg.Logger == nil {
		cfg.Logger = slog.New(slog.DiscardHandler)
	}
	now := cfg.Now
	s := &Server{
		cfg:   cfg,
		st:    newStore(cfg.MemoryBytes, cfg.MaxItemSize, func() int64 { return now().Unix() }),
		start: now(),
		log:   cfg.Logger,
		lns:   map[net.Listener]struct{}{},
		conns: map[net.Conn]struct{}{},
		stop:  make(chan struct{}),
	}
	s.wg.Add(1)
	go s.sweeper()
	return s
}

func (s *Server) sweeper() {
	defer s.wg.Done()
	t := time.NewTicker(sweepInterval)
	defer t.Stop()
	for {
		select {
		case <-s.stop:
			return
		case <-t.C:
			s.st.sweep(sweepBudget)
		}
	}
}

// Serve accepts connections on ln until ln is closed or Close is called.
// It returns nil after Close.
func (s *Server) Serve(ln net.Listener) error {
	if !s.track(ln, nil) {
		ln.Close()
		return nil
	}
	defer s.untrack(ln, nil)
	if served, err := s.serveLoops(ln); served {
		return err
	}
	for {
		nc, err := ln.Accept()
		if err != nil {
			if s.isClosed() {
				return nil
			}
			var ne net.Error
			if errors.As(err, &ne) && ne.Timeout() {
				time.Sleep(10 * time.Millisecond)
				continue
			}
			s.log.Error("accept failed", "err", err)
			return err
		}
		if s.currConns.Load() >= int64(s.cfg.MaxConns) {
			// memcached's own words when it is over -c.
			if s.rejected.Add(1) == 1 {
				s.log.Warn("connection limit reached; refusing connections", "max_conns", s.cfg.MaxConns)
			}
			io.WriteString(nc, "ERROR Too many open connections\r\n")
			nc.Close()
			continue
		}
		if !s.track(nil, nc) {
			nc.Close()
			return nil
		}
		s.wg.Add(1)
		go func() {
			defer s.wg.Done()
			defer s.untrack(nil, nc)
			s.serveConn(nc)
		}()
	}
}

func (s *Server) track(ln net.Listener, nc net.Conn) bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.closed {
		return false
	}
	if ln != nil {
		s.lns[ln] = struct{}{}
	}
	if nc != nil {
		s.conns[nc] = struct{}{}
		s.currConns.Add(1)
		s.totalConns.Add(1)
	}
	return true
}

func (s *Server) untrack(ln net.Listener, nc net.Conn) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if ln != nil {
		delete(s.lns, ln)
	}
	if nc != nil {
		delete(s.conns, nc)
		s.currConns.Add(-1)
	}
}

func (s *Server) isClosed() bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.closed
}

// drainGrace is how long Close lets connections finish the request they
// are answering before it cuts them off.
const drainGrace = 2 * time.Second

// Close stops the listeners and drains the connections: each finishes the
// request it is answering and flushes its replies (a read deadline in the
// past wakes the idle ones), and whatever is still busy after drainGrace,
// such as a write to a client that stopped reading, is closed. It returns
// once every connection goroutine and the sweeper are gone.
func (s *Server) Close() error {
	s.mu.Lock()
	if s.closed {
		s.mu.Unlock()
		return nil
	}
	s.closed = true
	for ln := range s.lns {
		ln.Close()
	}
	for nc := range s.conns {
		nc.SetReadDeadline(time.Now())
	}
	s.stopLoops()
	close(s.stop)
	s.mu.Unlock()

	done := make(chan struct{})
	go func() {
		s.wg.Wait()
		close(done)
	}()
	select {
	case <-done:
	case <-time.After(drainGrace):
		s.mu.Lock()
		for nc := range s.conns {
			nc.Close()
		}
		s.mu.Unlock()
		<-done
	}
	return nil
}

// serveConn answers one client until it quits, errs or the server closes,
// with a goroutine blocking on the connection: the way for listeners the
// event loops do not take (see loop_linux.go) and for tests that drive a
// connection by hand. Replies to everything one read brought are written
// in one go.
func (s *Server) serveConn(nc net.Conn) {
	defer nc.Close()
	c := s.newConn()
	for {
		buf := c.pend.space(c.want, readBufSize)
		n, rerr := nc.Read(buf)
		c.pend.b = c.pend.b[:len(c.pend.b)+n]
		for {
			used, keep := c.process(c.pend.b)
			c.pend.consume(used)
			if len(c.w.b) > 0 {
				_, err := nc.Write(c.w.b)
				c.w.reset()
				if err != nil {
					return
				}
			}
			if !keep {
				return
			}
			if !c.stalled {
				break
			}
		}
		if rerr != nil {
			return
		}
	}
}

func (s *Server) newConn() *conn {
	return &conn{srv: s, st: s.st}
}
