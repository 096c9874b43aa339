# A diamond of four short shards on three classes, for the live run page
# in a browser (TestRunPage): each shard sleeps long enough for the page
# to show it running before it completes.
#
#   prep (cpu-heavy) -> left (io-bound)          -> join (cpu-heavy)
#                    -> right (memory-intensive) /

graph "ui" {
  datacenters = ["dc1"]
  driver      = "raw_exec"

  task "prep" {
    command = "/bin/sh"
    args    = ["-c", "sleep 2"]

    output "a" {
      size = "1KiB"
    }

    output "b" {
      size = "1KiB"
    }

    hints {
      kind     = "cpu"
      runtime  = "2s"
      memory   = "32MiB"
      executor = "cpu-heavy"
    }
  }

  task "left" {
    command = "/bin/sh"
    args    = ["-c", "sleep 2"]

    input {
      from = task.prep.output.a
    }

    output "l" {
      size = "1KiB"
    }

    hints {
      kind     = "io"
      runtime  = "2s"
      memory   = "32MiB"
      executor = "io-bound"
    }
  }

  task "right" {
    command = "/bin/sh"
    args    = ["-c", "sleep 3"]

    input {
      from = task.prep.output.b
    }

    output "r" {
      size = "1KiB"
    }

    hints {
      kind     = "memory"
      runtime  = "3s"
      memory   = "64MiB"
      executor = "memory-intensive"
    }
  }

  task "join" {
    command = "/bin/sh"
    args    = ["-c", "sleep 1"]

    input {
      from = task.left.output.l
    }

    input {
      from = task.right.output.r
    }

    hints {
      kind     = "cpu"
      runtime  = "1s"
      memory   = "32MiB"
      executor = "cpu-heavy"
    }
  }
}
