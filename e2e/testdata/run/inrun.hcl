# In-run learning: three tasks of one type (signature "slowtool"), each
# sleeping 3 s, while the history the run is given (inrun-history.jsonl)
# says the type takes 1 s. Each task is pinned to a class of its own in
# turn, so nothing is fused or batched. When w1 completes about 3x over its
# prediction, the re-planner corrects the predictions of the shards of that
# type not yet submitted (predict.Correction) and re-sizes them on their
# class.
#
#   w1 (io-bound) -> w2 (cpu-heavy) -> w3 (io-bound)

graph "inrun" {
  datacenters = ["dc1"]
  driver      = "raw_exec"

  task "w1" {
    command   = "/bin/sh"
    args      = ["-c", "sleep 3 && echo w1"]
    signature = "slowtool"

    hints {
      executor = "io-bound"
    }
  }

  task "w2" {
    command   = "/bin/sh"
    args      = ["-c", "sleep 3 && echo w2"]
    signature = "slowtool"

    depends_on = [task.w1]

    hints {
      executor = "cpu-heavy"
    }
  }

  task "w3" {
    command   = "/bin/sh"
    args      = ["-c", "sleep 3 && echo w3"]
    signature = "slowtool"

    depends_on = [task.w2]

    hints {
      executor = "io-bound"
    }
  }
}
