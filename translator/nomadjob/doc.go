// Package nomadjob turns a shard plan into Nomad jobs: the last translator
// stage of the flow graph -> plan -> jobs. It builds
// github.com/hashicorp/nomad/api Job values (Jobs) and writes each as a
// Nomad jobspec in HCL (WriteHCL), as the JSON body of a /v1/jobs register
// request (WriteJSON), or both into a folder at once (WriteDir).
//
// # Mapping
//
// Every distinct plan.Shard.Job becomes one Nomad job with one task group
// and one task. A shard that fuses several graph tasks runs them in order in
// that one task; the pieces of a split task share one job whose group has
// count = Split.Count, and each allocation finds its piece through
// NOMAD_ALLOC_INDEX (exported as SHARDWISE_SPLIT_INDEX). The executor class
// of the shard supplies the placement: node_pool, a ${node.class}
// constraint, the class constraints and, for accelerator classes, a device
// block. docs/nomad-jobs.md lists every field.
//
// # Units
//
// Plan CPU is MHz and memory and disk are MiB; Nomad's "MemoryMB", "DiskMB"
// and "SizeMB" fields are MiB too (Nomad calls them MB), so values pass
// through unchanged apart from rounding up to whole units.
//
// # Interpolation
//
// Strings are written literally: WriteHCL escapes "${" as "$${", so the
// jobspec parser leaves them alone, and Nomad's own runtime interpolation
// (${node.class}, ${NOMAD_ALLOC_INDEX}, ${NOMAD_TASK_DIR} in args or env)
// happens on the client exactly as for the JSON form.
package nomadjob
