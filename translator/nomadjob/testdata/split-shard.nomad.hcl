job "demo-map" {
  type        = "batch"
  priority    = 70
  region      = "global"
  namespace   = "default"
  datacenters = ["dc1"]
  meta {
    shardwise_class                     = "cpu"
    shardwise_graph                     = "demo"
    shardwise_input_bytes               = "1000,1010,1020,1030"
    shardwise_output_bytes              = "0,0,0,0"
    shardwise_predicted_memory_mib      = "603,602,601,600"
    shardwise_predicted_runtime_seconds = "0,0,0,0"
    shardwise_run                       = "r-20250101"
    shardwise_shard                     = "map-0,map-1,map-2,map-3"
    shardwise_signature                 = "map"
    shardwise_split_task                = "map"
    shardwise_upstream                  = "prep"
  }

  group "map" {
    count = 4
    meta {
      shardwise_class                     = "cpu"
      shardwise_graph                     = "demo"
      shardwise_input_bytes               = "1000,1010,1020,1030"
      shardwise_output_bytes              = "0,0,0,0"
      shardwise_predicted_memory_mib      = "603,602,601,600"
      shardwise_predicted_runtime_seconds = "0,0,0,0"
      shardwise_run                       = "r-20250101"
      shardwise_shard                     = "map-0,map-1,map-2,map-3"
      shardwise_signature                 = "map"
      shardwise_split_task                = "map"
      shardwise_upstream                  = "prep"
    }
    constraint {
      attribute = "$${node.class}"
      operator  = "="
      value     = "cpu"
    }
    constraint {
      attribute = "$${attr.kernel.name}"
      operator  = "="
      value     = "linux"
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

    task "map" {
      driver = "shard"
      config {
        args    = ["--piece", "$${NOMAD_ALLOC_INDEX}"]
        command = "mapper"
        graph   = "demo"
        inputs = [{
          bytes     = 1000
          from      = "prep"
          from_task = "prep"
          id        = "c2"
          stream    = true
          to        = "map-0"
          to_task   = "map"
        }]
        run    = "r-20250101"
        shards = ["map-0", "map-1", "map-2", "map-3"]
        split = [{
          bytes = [1000, 1010, 1020, 1030]
          count = 4
          items = [0, 0, 0, 0]
          task  = "map"
        }]
        tasks = [{
          args    = ["--piece", "$${NOMAD_ALLOC_INDEX}"]
          command = "mapper"
          name    = "map"
        }]
      }
      env {
        SHARDWISE_CLASS        = "cpu"
        SHARDWISE_GRAPH        = "demo"
        SHARDWISE_JOB          = "demo-map"
        SHARDWISE_RUN          = "r-20250101"
        SHARDWISE_SPLIT_BYTES  = "1000,1010,1020,1030"
        SHARDWISE_SPLIT_COUNT  = "4"
        SHARDWISE_SPLIT_INDEX  = "$${NOMAD_ALLOC_INDEX}"
        SHARDWISE_SPLIT_SHARDS = "map-0,map-1,map-2,map-3"
        SHARDWISE_SPLIT_TASK   = "map"
        SHARDWISE_TASKS        = "map"
      }
      resources {
        cpu    = 1201
        memory = 603
      }
    }
  }
}
