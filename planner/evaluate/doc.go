// Package evaluate measures Shardwise's plans and predictions against the
// baselines of the scheduling literature, on real workflow traces and on
// synthetic random graphs.
//
// # Plan quality (Compare)
//
// Every method plans the same graph from the same prediction table on the
// same catalog, and every plan is played by planner/simulate (noise 0
// unless Options.Sim says otherwise), so that the makespans are comparable:
// the simulator, not each planner's own prediction, is the yardstick.
//
//   - MethodSingle, the best single executor class: for each class that can
//     run every task, one allocation per task, all on that class, in the
//     order of a list schedule pinned to it; the class whose simulated
//     makespan is least. This is what a user who picks one node class for
//     the whole workflow gets.
//   - MethodHEFT: the Heterogeneous Earliest Finish Time list scheduler of
//     H. Topcuoglu, S. Hariri and M.-Y. Wu, "Performance-effective and
//     low-complexity task scheduling for heterogeneous computing", IEEE
//     TPDS 13(3):260-274, 2002, insertion-based (planner/place with
//     Options.Insertion), one task per allocation, no fusion or splitting.
//   - MethodShardwise: plan.Build with its default options (chain fusion,
//     sibling batching, data-parallel splits, the single-class guard).
//
// The lower bound is simulate.LowerBound over the table's runtimes: the
// larger of the critical path with every task at its fastest class and the
// total fastest work divided by the total number of instances. SLR is a
// makespan over the critical-path part (Topcuoglu et al., section 5.1).
//
// # Inputs
//
// An imported WfCommons trace (bench.FromTrace, above both the translator
// and the planner) brings the graph, its history records, and a prediction
// table from planner/predict fitted on those records, whose runtimes are
// then replaced by the trace's own (TraceTable): a task's runtime on class c is its recorded runtime times
// speed(reference, kind) / speed(c, kind), its kind (workload profile) the
// importer's guess from avgCPU, memory and IO. Planning is then judged on
// known costs, as in the HEFT literature; how good the predictions are is
// measured apart (Accuracy). Synthetic builds a random graph with
// planner/evaluate/synth and its table with synth.FillTable.
//
// # Prediction accuracy (Accuracy)
//
// Cross-validation of planner/predict against two baselines, the per-type
// mean and a plain Ernest-style NNLS fit of c0 + c1·x + c2·ln(x+1) on input
// bytes x (S. Venkataraman et al., "Ernest: efficient performance
// prediction for large-scale advanced analytics", NSDI 2016): k-fold across
// the tasks of each repeated task type within a trace, and train on one
// recorded run, test on another, across the runs of one family. Runtime
// errors are absolute percentage errors (median and 90th percentile);
// memory is judged by the under-prediction rate (predicted < observed) and
// the over-provisioning ratio predicted/observed (median over tasks, and
// total predicted over total observed).
//
// Units: seconds, bytes, MiB where a name says so. Every function here is
// deterministic except for the plan times Compare measures with the wall
// clock.
package evaluate
