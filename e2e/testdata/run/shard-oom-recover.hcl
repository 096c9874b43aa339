# A shard that waits until the test creates the file "go" in its task dir,
# then grows to 200 MiB with 64 MiB allocated. The test kills its client
# agent with SIGKILL and restarts it before creating "go": the recovered
# task must still be held to 64 MiB and be OOM-killed.
# var.marker appears in its command line so the test can find it.

variable "marker" {
  type    = string
  default = "shardwise-oom-recover"
}

graph "shard-oom-recover" {
  datacenters = ["dc1"]
  driver      = "shard"

  task "grow" {
    command = "/bin/sh"
    args = ["-c", <<-SH
      : ${var.marker}
      while [ ! -f go ]; do sleep 0.1; done
      head -c 200m /dev/zero | tail -c 200m > /dev/null
    SH
    ]

    hints {
      kind     = "memory"
      cpu      = 100
      runtime  = "5s"
      memory   = "64MiB"
      executor = "cpu-heavy"
    }
  }
}
