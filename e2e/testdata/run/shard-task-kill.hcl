# Fault fixture for the shard driver: the test kills the running shard's
# command with SIGKILL; `shardwise run -driver shard -fail-fast -retries 0`
# must fail the run and name the shard. The downstream shard never runs.
#
#   victim (io-bound) -> after (cpu-heavy)
#
# var.marker appears in victim's command line so the test can find it.

variable "marker" {
  type    = string
  default = "shardwise-task-kill"
}

graph "shard-task-kill" {
  datacenters = ["dc1"]
  driver      = "shard"

  task "victim" {
    command = "/bin/sh"
    args = ["-c", <<-SH
      : ${var.marker}
      mkdir -p out
      echo partial > out/data
      while true; do sleep 0.1; done
    SH
    ]

    output "data" {
      size = "1KiB"
    }

    hints {
      kind     = "io"
      runtime  = "5s"
      memory   = "32MiB"
      executor = "io-bound"
    }
  }

  task "after" {
    command = "/bin/sh"
    args    = ["-c", "cat in/victim-data"]

    input {
      from = task.victim.output.data
    }

    hints {
      kind     = "cpu"
      cpu      = 500
      runtime  = "1s"
      memory   = "32MiB"
      executor = "cpu-heavy"
    }
  }
}
