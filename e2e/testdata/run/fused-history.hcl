# Per-task history of a fused shard. fetch and align are chained on one
# class, so the planner fuses them into one shard, whose script times each
# task (sdk.TaskTimesFile) and whose job names them (sdk.MetaTasks). With
# -feedback the store gets one record per task, each with its own runtime
# (about 1 s and 2 s); the next plan predicts each task from its own
# record, where the shard's one record (signature
# "pt-fetch+pt-align") would have told it nothing of either.
#
#   [fetch -> align] (cpu-heavy)

graph "fusedhistory" {
  datacenters = ["dc1"]
  driver      = "raw_exec"

  task "fetch" {
    command   = "/bin/sh"
    args      = ["-c", "sleep 1 && echo fetch"]
    signature = "pt-fetch"

    hints {
      executor = "cpu-heavy"
    }
  }

  task "align" {
    command   = "/bin/sh"
    args      = ["-c", "sleep 2 && echo align"]
    signature = "pt-align"

    depends_on = [task.fetch]

    hints {
      executor = "cpu-heavy"
    }
  }
}
