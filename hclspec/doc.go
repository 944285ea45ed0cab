// Package hclspec is the stickyform language: it parses the *.hcl files of
// a directory, evaluates variables, locals and references between blocks,
// fills defaults, validates the result and reports every problem as an
// hcl.Diagnostic with a source range.
package hclspec
