package main

import (
	"io"
	stdlog "log"
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

// routeStdLog sends the standard library's log package, which Go's HTTP
// client writes to (for example "Unsolicited response received on idle
// HTTP channel" when an agent refuses a connection), through the CLI's
// logger as warnings named shardwise.http, so that no raw line reaches
// the terminal.
func routeStdLog(stderr io.Writer) {
	w := newLogger(stderr).Named("http").StandardWriter(&hclog.StandardLoggerOptions{ForceLevel: hclog.Warn})
	stdlog.SetFlags(0)
	stdlog.SetPrefix("")
	stdlog.SetOutput(w)
}
