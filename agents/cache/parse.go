package cache

import "bytes"

// maxKeyLen is memcached's KEY_MAX_LENGTH.
const maxKeyLen = 250

// tokenize splits line on spaces, collapsing runs of them, into toks
// (reused between calls to avoid allocating per command).
func tokenize(line []byte, toks [][]byte) [][]byte {
	toks = toks[:0]
	for len(line) > 0 {
		i := bytes.IndexByte(line, ' ')
		if i < 0 {
			toks = append(toks, line)
			break
		}
		if i > 0 {
			toks = append(toks, line[:i])
		}
		line = line[i+1:]
	}
	return toks
}

// parseInt64 parses like C's strtol in base 10 on a whole token: optional
// sign, digits, nothing after. Overflow fails, as strtol's ERANGE does.
func parseInt64(b []byte) (int64, bool) {
	neg := false
	if len(b) > 0 && (b[0] == '+' || b[0] == '-') {
		neg = b[0] == '-'
		b = b[1:]
	}
	u, ok := parseDigits(b)
	if !ok {
		return 0, false
	}
	if neg {
		if u > 1<<63 {
			return 0, false
		}
		return -int64(u), true
	}
	if u > 1<<63-1 {
		return 0, false
	}
	return int64(u), true
}

// parseInt32 is memcached's safe_strtol: a strtol that then truncates the
// long to 32 bits, which is why "set k 0 4294967396 1" means 100 seconds.
func parseInt32(b []byte) (int32, bool) {
	v, ok := parseInt64(b)
	return int32(v), ok
}

// parseUint32 is memcached's safe_strtoul for flags: strtoul, refusing a
// negative number, then truncating to 32 bits.
func parseUint32(b []byte) (uint32, bool) {
	v, ok := parseUint64(b)
	return uint32(v), ok
}

// parseUint64 is memcached's safe_strtoull: strtoull on the whole token
// that refuses a minus sign whenever the result would look negative.
func parseUint64(b []byte) (uint64, bool) {
	neg := false
	if len(b) > 0 && (b[0] == '+' || b[0] == '-') {
		neg = b[0] == '-'
		b = b[1:]
	}
	u, ok := parseDigits(b)
	if !ok {
		return 0, false
	}
	if neg {
		u = -u
		if int64(u) < 0 {
			return 0, false
		}
	}
	return u, true
}

// parseDigits parses a non-empty run of decimal digits that fits 64 bits.
func parseDigits(b []byte) (uint64, bool) {
	if len(b) == 0 {
		return 0, false
	}
	var u uint64
	for _, c := range b {
		if c < '0' || c > '9' {
			return 0, false
		}
		d := uint64(c - '0')
		if u > (1<<64-1-d)/10 {
			return 0, false
		}
		u = u*10 + d
	}
	return u, true
}

// parseStoredUint reads a stored value as incr/decr do: leading
// whitespace, an optional sign, digits, then only whitespace until the end.
func parseStoredUint(v []byte) (uint64, bool) {
	i := 0
	for i < len(v) && isSpace(v[i]) {
		i++
	}
	j := i
	if j < len(v) && (v[j] == '+' || v[j] == '-') {
		j++
	}
	for j < len(v) && v[j] >= '0' && v[j] <= '9' {
		j++
	}
	for k := j; k < len(v); k++ {
		if !isSpace(v[k]) {
			return 0, false
		}
	}
	return parseUint64(v[i:j])
}

func isSpace(c byte) bool {
	return c == ' ' || c == '\t' || c == '\n' || c == '\v' || c == '\f' || c == '\r'
}
