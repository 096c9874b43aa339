# A task that needs about 70 MiB but is planned with 64 MiB: under the exec
# driver (cgroups enforce memory) the kernel kills it, and `shardwise run`
# retries it with 2 x 64 = 128 MiB, where it completes.

graph "oom" {
  datacenters = ["dc1"]
  driver      = "exec"

  task "hog" {
    command = "/bin/sh"
    args    = ["-c", "head -c 66m /dev/zero | tail -c 66m > /dev/null && echo fits"]

    hints {
      kind     = "memory"
      runtime  = "1s"
      memory   = "64MiB"
      executor = "cpu-heavy"
    }
  }
}
