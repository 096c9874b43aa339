//go:build race

package predict

func init() { raceEnabled = true }
