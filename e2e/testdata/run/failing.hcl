# A chain whose middle task fails: `shardwise run` must exit non-zero,
# show convert's stderr, and never start publish.
#
#   prepare -> convert (exits 3) -> publish

graph "failing" {
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
    args    = ["-c", "echo converting; echo 'convert: cannot parse input.csv line 7' >&2; exit 3"]

    input {
      from = task.prepare.output.csv
    }

    output "parquet" {
      size = "1KiB"
    }

    hints {
      kind     = "cpu"
      runtime  = "1s"
      memory   = "32MiB"
      executor = "cpu-heavy"
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
