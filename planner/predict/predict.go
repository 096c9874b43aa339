// Package predict estimates what each task of a graph needs on each executor
// class: runtime, CPU, peak memory, IO and GPUs, each with its source and an
// uncertainty. It is the second stage of the flow graph -> predictions ->
// plan; the history it learns from is written by the importer and, later,
// by the feedback service.
//
// The model, per task (history is grouped by task Signature and fitted once
// in New; Predict only evaluates):
//
//   - Kind: hints.Kind; else gpu when hints ask for GPUs; else from history
//     (GPUs used; cores busy; peak memory against other signatures; bytes
//     read and written per second; see decideKinds); else latency for
//     service tasks; else cpu.
//   - Runtime: on a speed-1.0 machine, by the Ernest-style size model
//     c0 + c1*x + c2*ln(x+1) + c3*s, x the private and s the shared input
//     bytes, fitted by non-negative least squares (Lawson-Hanson; see NNLS
//     and RuntimeFit) with every run weighing the same, or the median of
//     the per-run medians when inputs do not vary or the fit is no better
//     (by the run-weighted median error). Where the training runs cannot
//     tell x from s apart (two runs, or runs on one line), one model on
//     each is fitted and their geometric mean predicts. Records run
//     on a class are normalised by its speed for the kind (imported ones by
//     the reference class's). On class c the runtime is that / c's speed.
//     Without history: hints.Runtime, else DefaultRuntimeSeconds. Split
//     tasks are predicted whole; the planner divides.
//   - CPU (MHz): median cores used x clock; hints are floors; else
//     DefaultCPUMHz. History-derived CPU is capped at the instance's CPU.
//   - Memory (MiB): the 95th percentile of observed peaks x 1.1, raised to
//     1.25 x the peak of any OOM-killed run and to hints.MemoryMiB; else
//     DefaultMemoryMiB.
//   - IO (bytes read + written) and output bytes: medians of history; the
//     latter else the declared output sizes; else 0.
//   - GPUs: hints.GPUs; else the most history used; else 1 for gpu work.
//
// Uncertainties are relative standard errors inflated for few
// observations (see inflate); hints carry HintUncertainty, defaults 1.0.
package predict

// Source says where an estimate came from.
type Source string

// Sources, from most to least trusted.
const (
	FromHistory Source = "history"
	FromHint    Source = "hint"
	FromDefault Source = "default"
)

// Estimate is one predicted quantity.
type Estimate struct {
	// Value is the estimate: the median (p50) for a runtime.
	Value float64
	// Uncertainty is the relative standard error (0.25 = ±25%).
	Uncertainty float64
	// P90 is the 90th percentile for a runtime (seconds, at least Value):
	// from history, Value x the fit's P90Ratio; else Value x (1 + 1.2816 x
	// Uncertainty). 0 for the other quantities.
	P90    float64
	Source Source
	// N is the number of history observations behind the estimate.
	N int
}

// Need is a task's predicted needs on one class.
type Need struct {
	// Feasible is false when the class cannot run the task (too little
	// memory, no GPU, pinned elsewhere); Why then says what is missing.
	Feasible bool
	Why      string

	Runtime   Estimate // seconds
	CPU       Estimate // MHz
	MemoryMiB Estimate // peak MiB, at a high quantile
	IOBytes   Estimate // bytes read plus written
	GPUs      Estimate // GPU count
	// OutputBytes is the predicted size of everything the task writes for
	// downstream tasks, used for edges whose size is not declared.
	OutputBytes Estimate
}
