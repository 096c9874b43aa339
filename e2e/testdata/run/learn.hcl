# Three tasks with no runtime hints, each sleeping a different time: the
# first plan predicts the default 60 s for each, far off; after one run the
# feedback store knows better, and the next plan's predictions come from
# history. Each task is pinned to a class of its own, so nothing is fused or
# batched and every shard's signature is its task's.
#
#   a (io-bound, 1 s) -> b (cpu-heavy, 3 s) -> c (io-bound, 2 s)

graph "learn" {
  datacenters = ["dc1"]
  driver      = "raw_exec"

  task "a" {
    command = "/bin/sh"
    args    = ["-c", "sleep 1 && echo a"]

    hints {
      executor = "io-bound"
    }
  }

  task "b" {
    command = "/bin/sh"
    args    = ["-c", "sleep 3 && echo b"]

    depends_on = [task.a]

    hints {
      executor = "cpu-heavy"
    }
  }

  task "c" {
    command = "/bin/sh"
    args    = ["-c", "sleep 2 && echo c"]

    depends_on = [task.b]

    hints {
      executor = "io-bound"
    }
  }
}
