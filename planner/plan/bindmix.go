package plan

// Fused shards by their mix of tasks. With each task's own runtime
// (Binder.Finished's taskSeconds) every task type is corrected by its own
// ratio, which is what predicts a task of that type anywhere. A fused
// shard's runtime is a sum over its tasks, and the sum of per-type
// median corrections is a poorer estimate of it than the ratios of the
// shards of the same mix that completed in the run: a type whose
// runtimes are bimodal or heavy-tailed (Epigenomics sol2sanger ran either
// about 0.1 s or about 14 s) moves its median far from what the next few
// tasks take, while the mix's ratio measures the sum itself. So the
// Binder also learns, per mix (Shard.Signature, the tasks' signatures
// joined with "+"), the fused shards' actual over uncorrected predicted
// runtime, and predicts a fused shard whose mix has completed with it;
// a mix not seen yet is the sum of its tasks' corrections.

// fused reports whether shard i is a fused shard (more than one task, not
// a split piece).
func (b *Binder) fused(i int) bool {
	return len(b.tasks[i]) > 1 && b.plan.Shards[i].Split == nil && b.plan.Shards[i].Signature != ""
}

// observeMix records fused shard i's ratio of runtimeSeconds over
// predicted (uncorrected, seconds) on class for its mix.
func (b *Binder) observeMix(i int, class string, predicted, runtimeSeconds float64) {
	if b.fused(i) {
		b.mix.Observe(b.plan.Shards[i].Signature, class, predicted, runtimeSeconds)
	}
}

// mixFactor is fused shard i's correction on class from the completed
// shards of its mix (predict.Correction.Factor: that class's trailing
// window, else pooled over classes); false when i is not fused or its
// mix has not completed yet.
func (b *Binder) mixFactor(i int, class string) (float64, bool) {
	if !b.fused(i) {
		return 0, false
	}
	f, n := b.mix.Factor(b.plan.Shards[i].Signature, class)
	return f, n > 0
}
