# One task split into 200 pieces, one allocation each, for the run
# -feedback connection test (with many-allocs-catalog.hcl, which gives
# cpu-heavy 200 instances so that the planner cuts 200 pieces). Each piece
# asks 800 MiB of the cpu-heavy node's advertised 32 GiB, so Nomad runs
# about 40 at a time and the machine is not flooded with executors.
graph "many" {
  datacenters = ["dc1"]
  driver      = "raw_exec"

  task "piece" {
    command = "/bin/sh"
    args    = ["-c", "sleep 0.1"]

    split {
      items      = 200
      max_shards = 200
    }

    hints {
      executor = "cpu-heavy"
      runtime  = "1s"
      memory   = "800MiB"
      cpu      = 100
    }
  }
}
