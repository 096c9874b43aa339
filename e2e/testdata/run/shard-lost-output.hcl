# Lost-output fixture for the shard driver: gen's channel data is deleted
# from its plugin's store after gen completed and before use fetches it,
# so use finds its upstream gone; `shardwise run` runs gen again and then
# use, and the run completes.
#
#   gen (io-bound)  --data-->  use (memory-intensive)
#   hold (cpu-heavy) --go-->   use
#
# hold writes its output, then waits until the test creates the file "go"
# in its task dir (found through var.marker in its command line), which
# the test does once it has deleted gen's data. gen's output names its
# allocation, so the test can tell which run of gen use read.

variable "marker" {
  type    = string
  default = "shardwise-lost-output"
}

graph "shard-lost-output" {
  datacenters = ["dc1"]
  driver      = "shard"

  task "gen" {
    command = "/bin/sh"
    args    = ["-c", "mkdir -p out && echo \"gen $NOMAD_ALLOC_ID\" > out/data && seq 1 2000 >> out/data"]

    output "data" {
      size = "9KiB"
    }

    hints {
      kind     = "io"
      runtime  = "1s"
      memory   = "32MiB"
      executor = "io-bound"
    }
  }

  task "hold" {
    command = "/bin/sh"
    args = ["-c", <<-SH
      : ${var.marker}
      mkdir -p out
      echo go > out/go
      while [ ! -f go ]; do sleep 0.1; done
    SH
    ]

    output "go" {
      size = "3B"
    }

    hints {
      kind     = "cpu"
      cpu      = 500
      runtime  = "5s"
      memory   = "32MiB"
      executor = "cpu-heavy"
    }
  }

  task "use" {
    command = "/bin/sh"
    args    = ["-c", "head -n 1 in/gen-data"]

    input {
      from = task.gen.output.data
    }

    input {
      from = task.hold.output.go
    }

    hints {
      kind     = "memory"
      runtime  = "1s"
      memory   = "32MiB"
      executor = "memory-intensive"
    }
  }
}
