// Package fuzz holds the fuzz targets of the readers of user files: the
// graph language (translator/hclreader), the executor catalog
// (planner/catalog) and WfCommons traces (translator/wfcommons). Each
// pushes whatever its reader accepts through the whole pipeline: predict,
// plan (planner.Pipeline), Nomad jobs (translator/nomadjob), and each job
// written as HCL, read back by the HCL parser, and as JSON. A panic
// anywhere, an accepted input whose plan loses a task, or a written file
// that does not parse back fails.
//
// `make test` runs each target for a few seconds (FUZZTIME_TEST), `make
// fuzz` for longer (FUZZTIME); the seeds (the examples, the readers' test
// files and the shared traces) run with every `go test`. The package
// imports neither SQLite nor the agents, so its instrumented build is
// quick.
package fuzz
