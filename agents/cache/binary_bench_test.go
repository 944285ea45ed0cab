package cache

import (
	"bytes"
	"io"
	"net"
	"testing"
)

// BenchmarkProtocols compares a pipelined batch of 50 sets and 50 gets
// over the text and binary protocols on one loopback connection.
func BenchmarkProtocols(b *testing.B) {
	val := bytes.Repeat([]byte("v"), 100)
	var text, bin []byte
	for i := 0; i < 50; i++ {
		key := "key" + string(rune('a'+i%26)) + string(rune('a'+i/26))
		text = append(text, "set "+key+" 0 0 100\r\n"+string(val)+"\r\nget "+key+"\r\n"...)
		bin = append(bin, binReq{op: opSet, key: key, ext: exp(0, 0), val: string(val)}.encode(1, 0)...)
		bin = append(bin, binReq{op: opGetK, key: key}.encode(2, 0)...)
	}
	textEnd, binEnd := []byte("mn\r\n"), binReq{op: opNoop}.encode(noopOpaque, 0)
	for _, tc := range []struct {
		name       string
		batch, end []byte
		tail       []byte // how the reply to end ends
	}{
		{"text", text, textEnd, []byte("MN\r\n")},
		{"binary", bin, binEnd, binEnd[12:]}, // the no-op reply ends as its request does: opaque, zero cas
	} {
		b.Run(tc.name, func(b *testing.B) {
			tg := startAgent(b, ServerConfig{})
			c, err := net.Dial("tcp", tg.addr)
			if err != nil {
				b.Fatal(err)
			}
			defer c.Close()
			req := append(append([]byte{}, tc.batch...), tc.end...)
			buf := make([]byte, 256<<10)
			b.ResetTimer()
			for i := 0; i < b.N; i++ {
				if _, err := c.Write(req); err != nil {
					b.Fatal(err)
				}
				var got []byte
				for !bytes.HasSuffix(got, tc.tail) {
					n, err := c.Read(buf)
					if err != nil && err != io.EOF {
						b.Fatal(err)
					}
					got = append(got, buf[:n]...)
				}
			}
		})
	}
}
