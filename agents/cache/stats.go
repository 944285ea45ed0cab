package cache

import (
	"bytes"
	"os"
	"runtime"
	"strconv"
	"syscall"
	"time"
)

// maxRelativeExptime is memcached's REALTIME_MAXDELTA: expiry times up to
// 30 days are relative to now, larger ones are absolute unix times.
const maxRelativeExptime = 60 * 60 * 24 * 30

// expiry converts a client's exptime to an absolute unix time (0: never),
// following memcached's realtime(): negative means already expired, and an
// absolute time before the server started is treated the same way.
func (s *Server) expiry(e int32) int64 {
	return s.expiryAt(int64(e))
}

// expiryAt is expiry for a wider exptime: the binary protocol sends an
// unsigned 32-bit one, which memcached never reads as negative.
func (s *Server) expiryAt(e int64) int64 {
	switch {
	case e == 0:
		return 0
	case e < 0:
		return 1
	case e > maxRelativeExptime:
		if e <= s.start.Unix() {
			return 1
		}
		return e
	default:
		return s.st.now() + e
	}
}

// stats answers "stats" and its sub-commands settings, items, slabs,
// sizes and reset.
func (c *conn) stats(t [][]byte) {
	if len(t) == 1 {
		c.w.Write(c.srv.generalStats())
		return
	}
	switch string(t[1]) {
	case "reset":
		c.srv.resetStats()
		c.reply("RESET\r\n")
	case "settings":
		c.w.Write(c.srv.settingsStats())
	case "items":
		c.w.Write(c.srv.itemStats())
	case "slabs":
		c.w.Write(c.srv.slabStats())
	case "sizes":
		c.reply("STAT sizes_status disabled\r\nEND\r\n")
	case "cachedump":
		c.cachedump(t)
	default:
		c.reply("ERROR\r\n")
	}
}

// resetStats answers "stats reset" in either protocol.
func (s *Server) resetStats() {
	s.st.resetCounters()
	s.totalConns.Store(s.currConns.Load())
	s.tooLarge.Store(0)
	s.flushes.Store(0)
}

// statWriter formats "STAT name value" lines.
type statWriter struct{ b bytes.Buffer }

func (w *statWriter) str(name, v string) {
	w.b.WriteString("STAT ")
	w.b.WriteString(name)
	w.b.WriteByte(' ')
	w.b.WriteString(v)
	w.b.WriteString("\r\n")
}

func (w *statWriter) int(name string, v int64) { w.str(name, strconv.FormatInt(v, 10)) }

func (w *statWriter) end() []byte {
	w.b.WriteString("END\r\n")
	return w.b.Bytes()
}

func (s *Server) generalStats() []byte {
	var w statWriter
	now := s.cfg.Now()
	t := s.st.totals()
	var ru syscall.Rusage
	syscall.Getrusage(syscall.RUSAGE_SELF, &ru)
	w.int("pid", int64(os.Getpid()))
	w.int("uptime", int64(now.Sub(s.start)/time.Second))
	w.int("time", now.Unix())
	w.str("version", s.cfg.Version)
	if s.cfg.Ident != "" {
		w.str("stickyform_version", s.cfg.Ident)
	}
	w.int("pointer_size", 64)
	w.str("rusage_user", rusage(ru.Utime))
	w.str("rusage_system", rusage(ru.Stime))
	w.int("max_connections", int64(s.cfg.MaxConns))
	w.int("curr_connections", s.currConns.Load())
	w.int("total_connections", s.totalConns.Load())
	w.int("rejected_connections", s.rejected.Load())
	w.int("cmd_get", t.cmdGet)
	w.int("cmd_set", t.cmdSet)
	w.int("cmd_flush", s.flushes.Load())
	w.int("cmd_touch", t.cmdTouch)
	w.int("get_hits", t.getHits)
	w.int("get_misses", t.getMisses)
	w.int("get_expired", t.getExpired)
	w.int("get_flushed", t.getFlushed)
	w.int("delete_misses", t.deleteMisses)
	w.int("delete_hits", t.deleteHits)
	w.int("incr_misses", t.incrMisses)
	w.int("incr_hits", t.incrHits)
	w.int("decr_misses", t.decrMisses)
	w.int("decr_hits", t.decrHits)
	w.int("cas_misses", t.casMisses)
	w.int("cas_hits", t.casHits)
	w.int("cas_badval", t.casBadval)
	w.int("touch_hits", t.touchHits)
	w.int("touch_misses", t.touchMisses)
	w.int("store_too_large", s.tooLarge.Load())
	w.int("store_no_memory", t.noMemory)
	w.int("limit_maxbytes", s.cfg.MemoryBytes)
	w.int("accepting_conns", 1)
	w.int("threads", int64(runtime.GOMAXPROCS(0)))
	w.int("bytes", t.bytes)
	w.int("curr_items", t.items)
	w.int("total_items", t.totalItems)
	w.int("expired_unfetched", t.expiredUnfetched)
	w.int("evictions", t.evictions)
	w.int("reclaimed", t.reclaimed)
	return w.end()
}

func rusage(tv syscall.Timeval) string {
	return strconv.FormatInt(int64(tv.Sec), 10) + "." + leftPad(strconv.FormatInt(int64(tv.Usec), 10), 6)
}

func leftPad(s string, n int) string {
	for len(s) < n {
		s = "0" + s
	}
	return s
}

func (s *Server) settingsStats() []byte {
	var w statWriter
	w.int("maxbytes", s.cfg.MemoryBytes)
	w.int("maxconns", int64(s.cfg.MaxConns))
	w.int("udpport", 0)
	w.int("verbosity", int64(s.verbose.Load()))
	w.str("evictions", "on")
	w.int("num_threads", int64(runtime.GOMAXPROCS(0)))
	w.str("cas_enabled", "yes")
	w.str("binding_protocol", "auto-negotiate")
	w.int("item_size_max", int64(s.cfg.MaxItemSize))
	w.str("flush_enabled", "yes")
	w.str("hash_algorithm", "maphash")
	return w.end()
}

// itemStats reports all items as one class, as we have no slab classes.
func (s *Server) itemStats() []byte {
	var w statWriter
	t := s.st.totals()
	if t.items > 0 {
		w.int("items:1:number", t.items)
		w.int("items:1:mem_requested", t.bytes)
		w.int("items:1:evicted", t.evictions)
		w.int("items:1:reclaimed", t.reclaimed)
	}
	return w.end()
}

func (s *Server) slabStats() []byte {
	var w statWriter
	t := s.st.totals()
	w.int("active_slabs", min(t.items, 1))
	w.int("total_malloced", t.bytes)
	return w.end()
}

// maxDump bounds a cachedump reply, as memcached's 2 MB buffer does.
const maxDump = 2 << 20

// cachedump answers "stats cachedump <class> <limit>" (used by memcdump):
// "ITEM <key> [<bytes> b; <exptime> s]" per item; all items are class 1,
// and limit 0 means as many as fit.
func (c *conn) cachedump(t [][]byte) {
	if len(t) != 4 {
		c.reply("CLIENT_ERROR bad command line\r\n")
		return
	}
	class, ok1 := parseUint32(t[2])
	limit, ok2 := parseUint32(t[3])
	if !ok1 || !ok2 {
		c.reply("CLIENT_ERROR bad command line format\r\n")
		return
	}
	var out []byte
	if class == 1 {
		out = c.st.dump(int(limit), maxDump)
	}
	c.w.Write(append(out, "END\r\n"...))
}
