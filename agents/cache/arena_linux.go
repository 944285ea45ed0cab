package cache

import "syscall"

// allocArena returns n bytes of zeroed memory outside the Go heap: the
// collector neither scans nor counts it, and the kernel backs its pages
// only once they are written. mapped says whether releasePages may hand
// pages back to the kernel.
func allocArena(n int) (b []byte, mapped bool) {
	b, err := syscall.Mmap(-1, 0, n, syscall.PROT_READ|syscall.PROT_WRITE, syscall.MAP_ANON|syscall.MAP_PRIVATE)
	if err != nil {
		return make([]byte, n), false
	}
	return b, true
}

// releasePages gives a free page's memory back to the kernel, so that
// pages the limit leaves unused (as the index grows) are not resident.
// Writing to it later faults in zeroed memory.
func releasePages(b []byte) {
	syscall.Madvise(b, syscall.MADV_DONTNEED)
}
