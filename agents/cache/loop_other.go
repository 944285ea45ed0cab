//go:build !linux

package cache

import "net"

// loops is empty where there is no epoll: every connection gets its own
// goroutine.
type loops struct{}

func (s *Server) serveLoops(net.Listener) (bool, error) { return false, nil }

func (s *Server) stopLoops() {}
