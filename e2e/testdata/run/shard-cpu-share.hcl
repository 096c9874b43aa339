# Two shards on the same node (cpu-heavy), each spinning four processes
# for var.seconds: small is allocated 100 MHz, big 300 MHz. Under the
# shard driver their CPU shares are 100 and 300, so while both spin on
# the node's cores small gets about a quarter of what the two get.

variable "seconds" {
  type    = number
  default = 8
}

graph "shard-cpu-share" {
  datacenters = ["dc1"]
  driver      = "shard"

  task "small" {
    command = "/bin/sh"
    args    = ["-c", "for i in 1 2 3 4; do timeout ${var.seconds} sh -c 'while :; do :; done' & done; wait; exit 0"]

    hints {
      kind     = "cpu"
      cpu      = 100
      runtime  = "8s"
      memory   = "32MiB"
      executor = "cpu-heavy"
    }
  }

  task "big" {
    command = "/bin/sh"
    args    = ["-c", "for i in 1 2 3 4; do timeout ${var.seconds} sh -c 'while :; do :; done' & done; wait; exit 0"]

    hints {
      kind     = "cpu"
      cpu      = 300
      runtime  = "8s"
      memory   = "32MiB"
      executor = "cpu-heavy"
    }
  }
}
