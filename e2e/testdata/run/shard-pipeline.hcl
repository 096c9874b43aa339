# A three-shard pipeline on three executor classes for the shard driver
# (`shardwise run -driver shard`): 1 GiB moves over each of its two data
# channels, and every stage prints the SHA-256 and size of what it holds.
#
#   generate (io-bound) -> transform (cpu-heavy) -> consume (memory-intensive)
#
# generate writes exactly var.bytes bytes of `seq` output (deterministic,
# every line distinct, compressible) to out/data; transform receives it,
# checks it and passes it on from a custom output path (work/passed.bin,
# which reaches the driver as from_path); consume receives it at a custom
# input path and writes its SHA-256 and size to result/sha256.

variable "bytes" {
  type    = number
  default = 1073741824
}

graph "shard-pipeline" {
  datacenters = ["dc1"]
  driver      = "shard"

  task "generate" {
    command = "/bin/sh"
    args = ["-c", <<-SH
      set -e
      mkdir -p out
      seq 1 1000000000 | head -c ${var.bytes} > out/data
      echo "generate sha256 $(sha256sum < out/data | cut -d' ' -f1) bytes $(wc -c < out/data)"
    SH
    ]

    output "data" {
      size = "1GiB"
    }

    hints {
      kind     = "io"
      runtime  = "5s"
      memory   = "64MiB"
      executor = "io-bound"
    }
  }

  task "transform" {
    command = "/bin/sh"
    args = ["-c", <<-SH
      set -e
      mkdir -p work
      mv in/generate-data work/passed.bin
      echo "transform bytes $(wc -c < work/passed.bin)"
    SH
    ]

    input {
      from = task.generate.output.data
    }

    output "data" {
      path = "work/passed.bin"
      size = "1GiB"
    }

    hints {
      kind     = "cpu"
      cpu      = 500
      runtime  = "1s"
      memory   = "64MiB"
      executor = "cpu-heavy"
    }
  }

  task "consume" {
    command = "/bin/sh"
    args = ["-c", <<-SH
      set -e
      mkdir -p result
      sum=$(sha256sum < data/final.bin | cut -d' ' -f1)
      size=$(wc -c < data/final.bin)
      echo "$sum $size" > result/sha256
      echo "consume sha256 $sum bytes $size"
    SH
    ]

    input {
      from = task.transform.output.data
      path = "data/final.bin"
    }

    hints {
      kind     = "memory"
      memory   = "256MiB"
      runtime  = "5s"
      executor = "memory-intensive"
    }
  }
}
