job "demo-prep" {
  type        = "batch"
  priority    = 70
  region      = "global"
  namespace   = "default"
  datacenters = ["dc1"]
  meta {
    shardwise_class                     = "cpu"
    shardwise_graph                     = "demo"
    shardwise_input_bytes               = "0"
    shardwise_output_bytes              = "1073742824"
    shardwise_predicted_memory_mib      = "512"
    shardwise_predicted_runtime_seconds = "0"
    shardwise_run                       = "r-20250101"
    shardwise_shard                     = "prep"
    shardwise_signature                 = "fetch+prep"
    shardwise_tasks                     = "[{\"task\":\"fetch\",\"signature\":\"fetch\"},{\"task\":\"prep\",\"signature\":\"prep\"}]"
    shardwise_upstream                  = ""
  }

  group "prep" {
    count = 1
    meta {
      shardwise_class                     = "cpu"
      shardwise_graph                     = "demo"
      shardwise_input_bytes               = "0"
      shardwise_output_bytes              = "1073742824"
      shardwise_predicted_memory_mib      = "512"
      shardwise_predicted_runtime_seconds = "0"
      shardwise_run                       = "r-20250101"
      shardwise_shard                     = "prep"
      shardwise_signature                 = "fetch+prep"
      shardwise_tasks                     = "[{\"task\":\"fetch\",\"signature\":\"fetch\"},{\"task\":\"prep\",\"signature\":\"prep\"}]"
      shardwise_upstream                  = ""
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

    task "prep" {
      driver = "raw_exec"
      config {
        args    = ["-c", "set -e\n_sw_f=\nif [ -n \"$NOMAD_ALLOC_DIR\" ]; then _sw_f=\"$NOMAD_ALLOC_DIR/shardwise-task-times\"; fi\n_sw_t() { if [ -n \"$_sw_f\" ]; then if [ \"$1\" = 0 ]; then true >\"$_sw_f\" || true; fi; printf '%s %s\\n' \"$1\" \"$(date +%s.%N)\" >>\"$_sw_f\" || true; fi; } 2>/dev/null\n_sw_t 0\n# task \"fetch\"\ncurl -fsSL -o in.bin 'https://example.com/in?a=1&b=$${x}'\n_sw_t 1\n# task \"prep\"\nMODE=slow python3 prep.py 'it'\\''s \"quoted\" $HOME' '' 'a b' '%%{x}' '$(id)'\n_sw_t 2\n"]
        command = "/bin/sh"
      }
      env = {
        MODE            = "fast"
        SHARDWISE_CLASS = "cpu"
        SHARDWISE_GRAPH = "demo"
        SHARDWISE_JOB   = "demo-prep"
        SHARDWISE_RUN   = "r-20250101"
        SHARDWISE_SHARD = "prep"
        SHARDWISE_TASKS = "fetch,prep"
        TOKEN_FILE      = "$${NOMAD_SECRETS_DIR}/t"
        "lib.path"      = "/opt/lib"
      }
      artifact {
        source      = "https://example.com/tool.tgz"
        destination = "local/tool"
        options {
          checksum = "sha256:abcd"
        }
      }
      resources {
        cpu    = 1201
        memory = 512
      }
    }
  }
}
