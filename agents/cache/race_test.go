//go:build race

package cache

// raceEnabled reports a -race build, whose shadow memory would distort
// resident memory measurements.
const raceEnabled = true
