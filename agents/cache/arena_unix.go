//go:build unix

package cache

import "syscall"

// allocArena returns n bytes of zeroed memory outside the Go heap: the
// collector neither scans nor counts it, and the kernel backs its pages
// only once they are written.
func allocArena(n int) []byte {
	b, err := syscall.Mmap(-1, 0, n, syscall.PROT_READ|syscall.PROT_WRITE, syscall.MAP_ANON|syscall.MAP_PRIVATE)
	if err != nil {
		return make([]byte, n)
	}
	return b
}
