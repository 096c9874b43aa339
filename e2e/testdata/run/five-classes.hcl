# Six shards on all five executor classes, for `shardwise run` on the test
# cluster. Every task is a short /bin/sh script (raw_exec on any Linux box).
#
#   fetch (io-bound) -> index (io-bound) --\
#         \-> prep (cpu-heavy) ------------> join (memory-intensive)
#                                              -> train (gpu-accelerated, 1 GPU)
#                                                 -> serve (low-latency, service)
#
# fetch has two children, so index is not fused with it: index runs after
# fetch on the same class and draws an affinity to fetch's node.
#
# Every task writes its declared outputs to out/<name>, so the graph also
# runs with `-driver shard`, which publishes them as data channels.

graph "five-classes" {
  datacenters = ["dc1"]
  driver      = "raw_exec"

  task "fetch" {
    command = "/bin/sh"
    args    = ["-c", "sleep 1 && mkdir -p out && dd if=/dev/zero of=out/raw bs=1024 count=64 2>/dev/null"]

    output "raw" {
      size = "64KiB"
    }

    hints {
      kind     = "io"
      runtime  = "1s"
      memory   = "64MiB"
      executor = "io-bound"
    }
  }

  task "index" {
    command = "/bin/sh"
    args    = ["-c", "sleep 1 && mkdir -p out && echo indexed > out/idx"]

    input {
      from = task.fetch.output.raw
    }

    output "idx" {
      size = "4KiB"
    }

    hints {
      kind     = "io"
      runtime  = "1s"
      memory   = "64MiB"
      executor = "io-bound"
    }
  }

  task "prep" {
    command = "/bin/sh"
    args    = ["-c", "sleep 1 && mkdir -p out && echo prepared > out/features"]

    input {
      from = task.fetch.output.raw
    }

    output "features" {
      size = "32KiB"
    }

    hints {
      kind     = "cpu"
      cpu      = 500
      runtime  = "1s"
      memory   = "64MiB"
      executor = "cpu-heavy"
    }
  }

  task "join" {
    command = "/bin/sh"
    args    = ["-c", "sleep 1 && mkdir -p out && echo joined > out/table"]

    input {
      from = task.prep.output.features
    }

    input {
      from = task.index.output.idx
    }

    output "table" {
      size = "16KiB"
    }

    hints {
      kind     = "memory"
      memory   = "1GiB"
      runtime  = "1s"
      executor = "memory-intensive"
    }
  }

  task "train" {
    command = "/bin/sh"
    args    = ["-c", "echo \"gpu: $NVIDIA_VISIBLE_DEVICES\"; sleep 1; mkdir -p out && echo model > out/model"]

    input {
      from = task.join.output.table
    }

    output "model" {
      size = "8KiB"
    }

    hints {
      kind     = "gpu"
      gpus     = 1
      memory   = "256MiB"
      runtime  = "1s"
      executor = "gpu-accelerated"
    }
  }

  task "serve" {
    command = "/bin/sh"
    args    = ["-c", "while true; do sleep 1; done"]
    type    = "service"

    input {
      from = task.train.output.model
    }

    hints {
      kind     = "latency"
      latency  = "20ms"
      memory   = "64MiB"
      executor = "low-latency"
    }
  }
}
