# A chain whose middle task asks for more memory than any node of its
# class has: Nomad can never place it, so `shardwise run` must fail within
# seconds with the placement failure instead of waiting for capacity.
#
#   prepare -> convert (600 GiB on memory-intensive) -> publish

graph "unplaceable" {
  datacenters = ["dc1"]
  driver      = "raw_exec"

  task "prepare" {
    command = "/bin/sh"
    args    = ["-c", "echo prepared"]

    output "csv" {
      size = "1KiB"
    }

    hints {
      kind     = "io"
      runtime  = "1s"
      memory   = "32MiB"
      executor = "io-bound"
    }
  }

  task "convert" {
    command = "/bin/sh"
    args    = ["-c", "echo never runs"]

    input {
      from = task.prepare.output.csv
    }

    output "parquet" {
      size = "1KiB"
    }

    hints {
      kind     = "memory"
      runtime  = "1s"
      memory   = "600GiB"
      executor = "memory-intensive"
    }
  }

  task "publish" {
    command = "/bin/sh"
    args    = ["-c", "echo published"]

    input {
      from = task.convert.output.parquet
    }

    hints {
      kind     = "io"
      runtime  = "1s"
      memory   = "32MiB"
      executor = "io-bound"
    }
  }
}
