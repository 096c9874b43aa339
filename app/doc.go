// Package app is what each shardwise command does, between the CLI's flags
// (cmd/shardwise) and the components, as nomad-autoscaler's agent is to its
// command package: it reads the graph, catalog and history files, plans
// through the planner's single pipeline (planner.Pipeline.Plan), writes
// the Nomad jobs (translator/nomadjob), runs them with the launcher and the
// closed loop (feedback service and re-planner), simulates plans
// (planner/evaluate) and serves the feedback service.
//
// The flow of `shardwise run`, each step one hand-off:
//
//	cmd/shardwise -> app.Run -> app.Plan (hclreader, feedback.LoadHistory,
//	planner.Pipeline.Plan) -> nomadjob.Jobs -> launcher.Run (with
//	replan.Replanner and the feedback service)
package app
