# Re-planning while a graph runs: join is planned on memory-intensive
# (memory work, 1.6x there; the runtime hint makes speed outweigh start-up),
# but not pinned, so `shardwise run` with a history store can move it when
# memory-intensive has no ready node by the time load completes.
#
#   load (io-bound, pinned) -> join (memory-intensive, movable)

graph "replan" {
  datacenters = ["dc1"]
  driver      = "raw_exec"

  task "load" {
    command = "/bin/sh"
    args    = ["-c", "sleep 2 && echo loaded"]

    output "rows" {
      size = "1MiB"
    }

    hints {
      kind     = "io"
      runtime  = "2s"
      memory   = "32MiB"
      executor = "io-bound"
    }
  }

  task "join" {
    command = "/bin/sh"
    args    = ["-c", "echo joined"]

    input {
      from = task.load.output.rows
    }

    hints {
      kind    = "memory"
      runtime = "10m"
      memory  = "32MiB"
    }
  }
}
