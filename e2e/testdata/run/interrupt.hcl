# A long first task and a downstream one: interrupting `shardwise run`
# while wait runs must stop wait's job (kept, not purged) and never start
# after.
#
#   wait (sleeps 5 minutes) -> after

graph "interrupt" {
  datacenters = ["dc1"]
  driver      = "raw_exec"

  task "wait" {
    command = "/bin/sh"
    args    = ["-c", "sleep 300"]

    output "done" {
      size = "1KiB"
    }

    hints {
      kind     = "cpu"
      runtime  = "5m"
      memory   = "32MiB"
      executor = "cpu-heavy"
    }
  }

  task "after" {
    command = "/bin/sh"
    args    = ["-c", "echo after"]

    input {
      from = task.wait.output.done
    }

    hints {
      kind     = "io"
      runtime  = "1s"
      memory   = "32MiB"
      executor = "io-bound"
    }
  }
}
