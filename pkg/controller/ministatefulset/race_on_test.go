//go:build race

package ministatefulset

// raceDetector reports a test binary built with -race.
const raceDetector = true
