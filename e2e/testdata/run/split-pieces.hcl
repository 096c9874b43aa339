# One task split into three pieces (one Nomad job, group count 3) that end
# at different times: piece 0 exits at once, the others wait until the
# test creates var.dir/release, so `status` can be read while one piece is
# complete and the others run.

variable "dir" {
  type = string
}

graph "split-pieces" {
  datacenters = ["dc1"]
  driver      = "raw_exec"

  task "wait" {
    command = "/bin/sh"
    args = ["-c", <<-SH
      if [ "$NOMAD_ALLOC_INDEX" = 0 ]; then exit 0; fi
      while [ ! -e ${var.dir}/release ]; do sleep 0.2; done
    SH
    ]

    split {
      items      = 3
      max_shards = 3
    }

    hints {
      executor = "cpu-heavy"
      runtime  = "30s"
      memory   = "32MiB"
      cpu      = 100
    }
  }
}
