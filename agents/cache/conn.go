package cache

import (
	"bytes"
	"errors"
)

// errLineTooLong ends a connection whose command line has no end in sight.
var errLineTooLong = errors.New("cache: command line too long")

// A conn is one client connection. It is used by one goroutine at a time.
type conn struct {
	srv     *Server
	st      *store
	r       inBuf  // the input being parsed (see process)
	w       outBuf // replies not yet written
	pend    pending
	proto   int
	want    int  // bytes the request being assembled needs in all
	stalled bool // process stopped at outHighWater with input left
	toks    [][]byte
	num     [24]byte
	binHead [20 + maxKeyLen]byte // a binary request's extras and key
	binOut  [binHdrLen]byte      // a binary response header
	binExt  [8]byte              // a binary response's flags or counter
	noreply bool
	got     item // a hit, copied out of the store
	put     item // a value being stored
}

// readLine returns the next command line without its "\n" or "\r\n".
// The slice aliases the input. Like memcached, once more than maxLine
// bytes wait without a newline the client is hung up on, unless the line
// is a get or gets, whose key lists may grow (here up to maxGetLine).
func (c *conn) readLine() ([]byte, error) {
	b := c.r.b[c.r.r:]
	if i := bytes.IndexByte(b, '\n'); i >= 0 {
		c.r.r += i + 1
		return trimEOL(b[:i+1]), nil
	}
	if len(b) > maxLine && (len(b) > maxGetLine || !isGetLine(b)) {
		return nil, errLineTooLong
	}
	return nil, c.r.fail(len(b) + 1)
}

func trimEOL(line []byte) []byte {
	line = line[:len(line)-1]
	if n := len(line); n > 0 && line[n-1] == '\r' {
		line = line[:n-1]
	}
	return line
}

func isGetLine(line []byte) bool {
	line = bytes.TrimLeft(line, " ")
	return bytes.HasPrefix(line, []byte("get ")) || bytes.HasPrefix(line, []byte("gets "))
}

// reply writes s unless the command asked for noreply.
func (c *conn) reply(s string) {
	if !c.noreply {
		c.w.WriteString(s)
	}
}

// setNoreply applies memcached's rule: noreply is the command's last token.
func (c *conn) setNoreply(t [][]byte) {
	c.noreply = len(t) > 1 && string(t[len(t)-1]) == "noreply"
}

// dispatch runs one command line; false means close the connection.
func (c *conn) dispatch(line []byte) bool {
	c.toks = tokenize(line, c.toks)
	if cap(c.toks) > 1024 {
		defer func() { c.toks = nil }() // drop a huge multi-get's slice
	}
	t := c.toks
	c.noreply = false
	if len(t) == 0 {
		c.reply("ERROR\r\n")
		return true
	}
	switch string(t[0]) {
	case "get":
		return c.retrieve(t, false, false)
	case "gets":
		return c.retrieve(t, true, false)
	case "gat":
		return c.retrieve(t, false, true)
	case "gats":
		return c.retrieve(t, true, true)
	case "set":
		return c.update(t, modeSet)
	case "add":
		return c.update(t, modeAdd)
	case "replace":
		return c.update(t, modeReplace)
	case "append":
		return c.update(t, modeAppend)
	case "prepend":
		return c.update(t, modePrepend)
	case "cas":
		return c.update(t, modeCAS)
	case "incr":
		c.arith(t, true)
	case "decr":
		c.arith(t, false)
	case "delete":
		c.delete(t)
	case "touch":
		c.touch(t)
	case "flush_all":
		c.flushAll(t)
	case "stats":
		c.stats(t)
	case "version":
		c.reply("VERSION " + c.srv.cfg.Version + "\r\n")
	case "verbosity":
		c.verbosity(t)
	case "quit":
		return false
	case "shutdown":
		c.reply("ERROR: shutdown not enabled\r\n")
	case "mn":
		c.reply("MN\r\n")
	case "mg":
		c.metaGet(t)
	case "ms":
		return c.metaSet(t)
	case "md":
		c.metaDelete(t)
	case "ma":
		c.metaArith(t)
	case "me":
		c.metaDebug(t)
	default:
		// memcached hangs up on what looks like an HTTP request.
		if bytes.HasPrefix(t[len(t)-1], []byte("HTTP/")) {
			return false
		}
		c.reply("ERROR\r\n")
	}
	return true
}
