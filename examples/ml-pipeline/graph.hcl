# Train and serve an image classifier: ingest a dataset, extract features in
# parallel shards, train on a GPU, evaluate, then serve the model.
#
#   ingest -> features (split) -> train (gpu) -> evaluate -> serve (service)
#
# Every command is /bin/sh with a short script that stands in for the real
# tool: it sleeps briefly and writes its outputs with dd, so the graph runs
# with raw_exec on any Linux box.

variable "shards" {
  type        = number
  default     = 8
  description = "Upper bound on feature-extraction shards."
}

variable "dataset_mib" {
  type        = number
  default     = 64
  description = "Size of the ingested dataset in MiB."
}

variable "gpus" {
  type        = number
  default     = 1
  description = "GPUs for training."
}

variable "model" {
  type    = string
  default = "resnet-lite"
}

graph "ml-pipeline" {
  datacenters = ["dc1"]
  priority    = 60
  driver      = "raw_exec"

  task "ingest" {
    command = "/bin/sh"
    args = ["-c", format(
      "sleep 1 && mkdir -p out && dd if=/dev/zero of=out/raw bs=1048576 count=%d 2>/dev/null",
      var.dataset_mib,
    )]

    output "raw" {
      size = "${var.dataset_mib}MiB"
    }

    hints {
      kind    = "io"
      disk    = "1GiB"
      runtime = "30s"
    }
  }

  task "features" {
    command = "/bin/sh"
    args = ["-c", join(" && ", [
      "sleep 2",
      "mkdir -p out",
      "echo \"shard $NOMAD_ALLOC_INDEX of ${var.shards}\"",
      "dd if=/dev/zero of=out/features bs=1048576 count=2 2>/dev/null",
    ])]

    input {
      from = task.ingest.output.raw
    }

    output "features" {
      size = "16MiB"
    }

    split {
      input_size = "${var.dataset_mib}MiB"
      max_shards = var.shards
    }

    hints {
      kind    = "cpu"
      cores   = 2
      memory  = "2GiB"
      runtime = "2m"
    }
  }

  task "train" {
    command   = "/bin/sh"
    args      = ["-c", "sleep 2 && mkdir -p out && dd if=/dev/zero of=out/model bs=1048576 count=32 2>/dev/null && echo 'loss=0.12' > out/metrics"]
    env       = { MODEL = var.model, EPOCHS = "3" }
    signature = "train-${var.model}"

    input {
      from = task.features.output.features
      path = "in/features"
    }

    output "model" {
      size = "32MiB"
    }

    output "metrics" {
      size = "10B"
    }

    hints {
      kind       = "gpu"
      gpus       = var.gpus
      gpu_memory = "16GiB"
      memory     = "8GiB"
      runtime    = "20m"
      executor   = "gpu-accelerated"
    }
  }

  task "evaluate" {
    command = "/bin/sh"
    args    = ["-c", "ls -l in/ 2>/dev/null; sleep 1 && mkdir -p out && echo 'accuracy=0.93' > out/report"]

    input {
      from = task.train.output.model
      path = "in/model"
    }

    input {
      from = task.train.output.metrics
      path = "in/metrics"
    }

    output "report" {
      size = "14B"
    }

    hints {
      kind    = "cpu"
      cores   = 1
      runtime = "1m"
    }
  }

  task "serve" {
    command    = "/bin/sh"
    args       = ["-c", "mkdir -p out && while true; do date > out/heartbeat; sleep 1; done"]
    type       = "service"
    env        = { MODEL = var.model }
    depends_on = [task.evaluate]

    input {
      from = task.train.output.model
      path = "local/model"
    }

    hints {
      kind    = "latency"
      latency = "20ms"
      cores   = 1
      memory  = "1GiB"
    }
  }
}
