package main

import (
	"io"
	"os"

	"github.com/hashicorp/go-hclog"
)

// newLogger returns the CLI's logger: warnings and above by default, more
// with SHARDWISE_LOG_LEVEL (trace, debug, info, warn, error), as Nomad reads
// NOMAD_LOG_LEVEL. Logs go to stderr so stdout stays machine-readable.
func newLogger(stderr io.Writer) hclog.Logger {
	level := hclog.LevelFromString(os.Getenv("SHARDWISE_LOG_LEVEL"))
	if level == hclog.NoLevel {
		level = hclog.Warn
	}
	return hclog.New(&hclog.LoggerOptions{Name: "shardwise", Level: level, Output: stderr})
}
