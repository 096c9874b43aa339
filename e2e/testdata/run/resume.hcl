# Resume fixture: a fan-out and fan-in of short tasks on four classes.
# Every task appends a line to var.dir/<task>.runs when it starts, so the
# test counts how often each shard ran across a launcher's death and a
# resume. b fails its first attempt (run with -fail-fast -retries 1), so
# every run has one retry.
#
#   a (io-bound) -> b (cpu-heavy), c (memory-intensive), d (low-latency) -> e (io-bound)

variable "dir" {
  type = string
}

graph "resume" {
  datacenters = ["dc1"]
  driver      = "raw_exec"

  task "a" {
    command = "/bin/sh"
    args    = ["-c", "echo $NOMAD_ALLOC_ID >> ${var.dir}/a.runs && sleep 3"]
    hints {
      runtime  = "3s"
      memory   = "32MiB"
      executor = "io-bound"
    }
  }

  task "b" {
    command    = "/bin/sh"
    args = ["-c", <<-SH
      echo $NOMAD_ALLOC_ID >> ${var.dir}/b.runs
      if [ ! -e ${var.dir}/b.failed ]; then touch ${var.dir}/b.failed; sleep 1; exit 1; fi
      sleep 4
    SH
    ]
    depends_on = [task.a]
    hints {
      runtime  = "5s"
      memory   = "32MiB"
      executor = "cpu-heavy"
    }
  }

  task "c" {
    command    = "/bin/sh"
    args       = ["-c", "echo $NOMAD_ALLOC_ID >> ${var.dir}/c.runs && sleep 5"]
    depends_on = [task.a]
    hints {
      runtime  = "5s"
      memory   = "32MiB"
      executor = "memory-intensive"
    }
  }

  task "d" {
    command    = "/bin/sh"
    args       = ["-c", "echo $NOMAD_ALLOC_ID >> ${var.dir}/d.runs && sleep 5"]
    depends_on = [task.a]
    hints {
      runtime  = "5s"
      memory   = "32MiB"
      executor = "low-latency"
    }
  }

  task "e" {
    command    = "/bin/sh"
    args       = ["-c", "echo $NOMAD_ALLOC_ID >> ${var.dir}/e.runs && sleep 1"]
    depends_on = [task.b, task.c, task.d]
    hints {
      runtime  = "1s"
      memory   = "32MiB"
      executor = "io-bound"
    }
  }
}
