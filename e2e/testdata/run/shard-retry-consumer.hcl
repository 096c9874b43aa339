# Retry fixture for the shard driver: use reads its input and fails, so
# every attempt of it (a new allocation each, from `shardwise run`'s
# -retries) must get gen's bytes again, although the first one consumed
# the channel. The run ends failed, never waiting for its upstream.
#
#   gen (io-bound) -> use (cpu-heavy), across two nodes

variable "marker" {
  type    = string
  default = "shardwise-retry-consumer"
}

graph "shard-retry-consumer" {
  datacenters = ["dc1"]
  driver      = "shard"

  task "gen" {
    command = "/bin/sh"
    args    = ["-c", "mkdir -p out && printf '%s\\n' ${var.marker} > out/data && seq 1 2000 >> out/data"]

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

  task "use" {
    command = "/bin/sh"
    args    = ["-c", "cat in/gen-data; exit 3"]

    input {
      from = task.gen.output.data
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
