//go:build !unix

package cache

// allocArena returns n bytes for the items: a pointer-free slice the
// collector does not scan.
func allocArena(n int) []byte { return make([]byte, n) }
