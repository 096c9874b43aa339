# A shard that needs 300 MiB but is planned with 64 MiB, under the shard
# driver: its memory cgroup holds it to its limit (memory_max, 1.5 x memory
# on memory-intensive, which oversubscribes), the kernel kills it, the
# driver reports OOMKilled, and `shardwise run -retries N` retries it with
# twice the limit it died at until it fits (64 -> 192 -> 576 MiB memory,
# 96, 288, 864 MiB memory_max; launcher/replan.OOMRetry). tail -c buffers the last 300 MiB it reads.

graph "shard-oom" {
  datacenters = ["dc1"]
  driver      = "shard"

  task "hog" {
    command = "/bin/sh"
    args    = ["-c", "head -c 300m /dev/zero | tail -c 300m > /dev/null && echo fits"]

    hints {
      kind     = "memory"
      runtime  = "1s"
      memory   = "64MiB"
      executor = "memory-intensive"
    }
  }
}
