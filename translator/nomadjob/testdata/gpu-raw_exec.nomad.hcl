job "demo-train" {
  type        = "batch"
  priority    = 70
  region      = "global"
  namespace   = "default"
  datacenters = ["dc1"]
  node_pool   = "gpu"
  meta {
    shardwise_class                     = "gpu"
    shardwise_graph                     = "demo"
    shardwise_input_bytes               = "1073741824"
    shardwise_output_bytes              = "0"
    shardwise_predicted_memory_mib      = "30000"
    shardwise_predicted_runtime_seconds = "0"
    shardwise_run                       = "r-20250101"
    shardwise_shard                     = "train"
    shardwise_signature                 = "train"
    shardwise_upstream                  = "prep"
  }

  group "train" {
    count = 1
    meta {
      shardwise_class                     = "gpu"
      shardwise_graph                     = "demo"
      shardwise_input_bytes               = "1073741824"
      shardwise_output_bytes              = "0"
      shardwise_predicted_memory_mib      = "30000"
      shardwise_predicted_runtime_seconds = "0"
      shardwise_run                       = "r-20250101"
      shardwise_shard                     = "train"
      shardwise_signature                 = "train"
      shardwise_upstream                  = "prep"
    }
    constraint {
      attribute = "$${node.class}"
      operator  = "="
      value     = "gpu"
    }
    restart {
      attempts = 2
      interval = "10m"
      delay    = "15s"
      mode     = "fail"
    }
    reschedule {
      attempts       = 1
      interval       = "24h"
      delay          = "5s"
      delay_function = "constant"
      unlimited      = false
    }
    ephemeral_disk {
      size = 2148
    }

    task "train" {
      driver = "raw_exec"
      config {
        args    = ["--epochs", "3"]
        command = "/opt/bin/train"
      }
      env {
        SHARDWISE_CLASS = "gpu"
        SHARDWISE_GRAPH = "demo"
        SHARDWISE_JOB   = "demo-train"
        SHARDWISE_RUN   = "r-20250101"
        SHARDWISE_SHARD = "train"
        SHARDWISE_TASKS = "train"
      }
      resources {
        cpu    = 1201
        memory = 30000
        device "nvidia/gpu" {
          count = 2
          constraint {
            attribute = "$${device.attr.memory}"
            operator  = ">="
            value     = "16 GiB"
          }
        }
      }
    }
  }
}
