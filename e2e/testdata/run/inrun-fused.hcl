# In-run learning from each task of a fused shard. a1 and b1 are chained on
# one class, so the planner fuses them into one shard whose script times
# each task (sdk.TaskTimesFile). Type "slowtool" (a1, a2) sleeps 3 s while
# the history the run is given (inrun-fused-history.jsonl) says 1 s; type
# "steadytool" (b1, b2) sleeps 2 s as history says. The fused shard takes
# about 5 s against 3 s predicted, 1.7x, a ratio that hides both. b1 feeds
# a2 and b2, which are not fused or batched: once the fused shard
# completes, the launcher reads its per-task times and the re-planner
# corrects a2 (slowtool, 3x) but not b2 (steadytool, 1x). Beside them
# the fused [c1 -> d1] runs, whose last task garbles its times file: the
# launcher reads it, finds it does not parse, and goes on with the shard's
# one runtime.
#
#   [a1 -> b1] (io-bound) -> a2 (cpu-heavy)
#                         -> b2 (memory-intensive)
#   [c1 -> d1] (cpu-heavy)

graph "inrunfused" {
  datacenters = ["dc1"]
  driver      = "raw_exec"

  task "a1" {
    command   = "/bin/sh"
    args      = ["-c", "sleep 3 && echo a1"]
    signature = "slowtool"

    hints {
      executor = "io-bound"
    }
  }

  task "b1" {
    command   = "/bin/sh"
    args      = ["-c", "sleep 2 && echo b1"]
    signature = "steadytool"

    depends_on = [task.a1]

    hints {
      executor = "io-bound"
    }
  }

  task "a2" {
    command   = "/bin/sh"
    args      = ["-c", "sleep 3 && echo a2"]
    signature = "slowtool"

    depends_on = [task.b1]

    hints {
      executor = "cpu-heavy"
    }
  }

  task "b2" {
    command   = "/bin/sh"
    args      = ["-c", "sleep 2 && echo b2"]
    signature = "steadytool"

    depends_on = [task.b1]

    hints {
      executor = "memory-intensive"
    }
  }

  task "c1" {
    command   = "/bin/sh"
    args      = ["-c", "echo c1"]
    signature = "garbler"

    hints {
      executor = "cpu-heavy"
    }
  }

  task "d1" {
    command   = "/bin/sh"
    args      = ["-c", "echo garbled > \"$NOMAD_ALLOC_DIR/shardwise-task-times\""]
    signature = "garbler"

    depends_on = [task.c1]

    hints {
      executor = "cpu-heavy"
    }
  }
}
