# A streaming channel between two shard-driver shards on two executor
# classes (`shardwise run -driver shard`): produce writes 16 MiB of random
# bytes at a steady pace while consume reads them from its input pipe.
# The two jobs are one submission wave; both print the SHA-256 and size
# of the bytes they hold.
#
#   produce (io-bound) ==stream==> consume (memory-intensive)

graph "shard-stream-wave" {
  datacenters = ["dc1"]
  driver      = "shard"

  task "produce" {
    command = "/bin/sh"
    args = ["-c", <<-SH
      set -e
      mkdir -p out
      i=0
      while [ $i -lt 16 ]; do head -c 1048576 /dev/urandom; i=$((i+1)); sleep 0.2; done > out/data
      echo "produce sha256 $(sha256sum < out/data | cut -d' ' -f1) bytes $(wc -c < out/data)"
    SH
    ]

    output "data" {
      size   = "16MiB"
      stream = true
    }

    hints {
      kind     = "io"
      runtime  = "5s"
      memory   = "64MiB"
      executor = "io-bound"
    }
  }

  task "consume" {
    command = "/bin/sh"
    args = ["-c", <<-SH
      set -e
      cat in/produce-data > got
      echo "consume sha256 $(sha256sum < got | cut -d' ' -f1) bytes $(wc -c < got)"
    SH
    ]

    input {
      from = task.produce.output.data
    }

    hints {
      kind     = "memory"
      memory   = "64MiB"
      runtime  = "5s"
      executor = "memory-intensive"
    }
  }
}
