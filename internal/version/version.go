// Package version holds the build version of stickyform, stamped by the
// Makefile with -ldflags "-X .../internal/version.Version=...".
package version

// Version is the build version. Builds without the Makefile report "dev".
var Version = "dev"
