# A graph that uses every feature of the language once.
variable "shards" {
  type        = number
  default     = 16
  description = "Upper bound on feature-extraction shards."
}

variable "env_name" {
  type    = string
  default = "staging"
}

variable "sources" {
  type    = list(string)
  default = ["s3://bucket/a", "s3://bucket/b"]
}

variable "labels" {
  type    = map(string)
  default = { team = "ml" }
}

variable "verbose" {
  type    = bool
  default = false
}

variable "dataset_size" {
  default = "400GiB"
}

graph "full" {
  datacenters = ["dc1", "dc2"]
  region      = "europe"
  namespace   = "ml-${var.env_name}"
  priority    = 60
  driver      = "raw_exec"

  task "prepare" {
    command   = "/usr/bin/python3"
    args      = concat(["prep.py", "--shards", var.shards, "--verbose", var.verbose], var.sources)
    env       = merge(var.labels, { LOG_LEVEL = upper("info"), ENV = var.env_name })
    signature = "prep-${lower("V2")}"
    type      = "batch"

    artifact {
      source      = "https://example.com/prep.tar.gz"
      destination = "local/"
      options     = { checksum = "sha256:abc" }
    }

    artifact {
      source = "https://example.com/schema.json"
    }

    output "features" {
      path   = "out/features.parquet"
      size   = "40GiB"
      stream = false
    }

    output "stats" {}

    hints {
      kind       = "cpu"
      cpu        = 4000
      cores      = 4
      memory     = "16GiB"
      disk       = "100GiB"
      gpus       = 0
      gpu_memory = "0B"
      runtime    = "10m"
      latency    = 2
      executor   = "cpu-heavy"
    }
  }

  task "extract" {
    command = "/bin/sh"
    args    = ["-c", format("extract --piece $NOMAD_ALLOC_INDEX --of %d", max(var.shards, 2))]

    input {
      from = task.prepare.output.features
      path = "in/features.parquet"
    }

    output "vectors" {
      size = 1024
    }

    split {
      input_size = var.dataset_size
      max_shards = var.shards
    }
  }

  task "train" {
    command    = "train"
    depends_on = [task.prepare]

    input {
      from = task.extract.output.vectors
    }

    output "model" {
      size = "2GB"
    }

    output "metrics" {
      stream = true
    }

    hints {
      kind       = "gpu"
      gpus       = 2
      gpu_memory = "40GiB"
      runtime    = "1.5h"
    }
  }

  task "score" {
    command = "score"

    input {
      from = task.train.output.model
    }

    split {
      items      = length(range(1000))
      max_shards = 8
    }
  }

  task "monitor" {
    command = "monitor"
    type    = "service"

    input {
      from = task.train.output.metrics
    }

    hints {
      kind    = "latency"
      latency = "50ms"
    }
  }
}
