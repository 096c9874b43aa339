# Fault fixture for the shard driver: the client agent of a running shard
# is killed with SIGKILL and restarted while `shardwise run -driver shard`
# follows the run.
#
#   hold (cpu-heavy) -> check (memory-intensive)
#
# hold writes its output, then waits until the test creates the file "go"
# in its task dir. var.marker appears in its command line, so the test can
# count hold's processes (a recovered task must not start twice) and find
# its task dir (/proc/PID/cwd). check receives hold's output over a channel.

variable "marker" {
  type    = string
  default = "shardwise-client-kill"
}

graph "shard-client-kill" {
  datacenters = ["dc1"]
  driver      = "shard"

  task "hold" {
    command = "/bin/sh"
    args = ["-c", <<-SH
      : ${var.marker}
      mkdir -p out
      seq 1 100000 > out/data
      echo "hold sha256 $(sha256sum < out/data | cut -d' ' -f1)"
      while [ ! -f go ]; do sleep 0.1; done
    SH
    ]

    output "data" {
      size = "576KiB"
    }

    hints {
      kind     = "cpu"
      cpu      = 500
      runtime  = "5s"
      memory   = "32MiB"
      executor = "cpu-heavy"
    }
  }

  task "check" {
    command = "/bin/sh"
    args    = ["-c", "echo \"check sha256 $(sha256sum < in/hold-data | cut -d' ' -f1)\""]

    input {
      from = task.hold.output.data
    }

    hints {
      kind     = "memory"
      runtime  = "1s"
      memory   = "32MiB"
      executor = "memory-intensive"
    }
  }
}
