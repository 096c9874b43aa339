graph "small" {
  datacenters = ["dc1", "dc2"]
  region      = "global"
  priority    = 60
  driver      = "raw_exec"

  task "prep_stage_2" {
    command = "/bin/sh"
    args    = ["-c", "echo $${HOME} %%{x} \"q\"\nnext"]
    env = {
      LOG_LEVEL               = "info"
      SHARDWISE_ORIGINAL_NAME = "prep.stage"
      "odd.key"               = "v"
    }
    signature = "prep.stage"

    artifact {
      source      = "https://example.com/a.tgz"
      destination = "local/"
      options = {
        checksum = "sha256:abc"
      }
    }

    output "features" {
      size   = "1.5GiB"
      stream = true
    }

    output "raw_log" {
      path = "out/raw.log"
      size = "4150080B"
    }

    hints {
      kind       = "cpu"
      cpu        = 2000
      cores      = 4
      memory     = "16GiB"
      disk       = "1.5GiB"
      gpus       = 1
      gpu_memory = "40GiB"
      runtime    = "15.712s"
      latency    = "50ms"
      executor   = "gpu-accelerated"
    }
  }

  task "prep_stage" {
    command = "true"
  }

  task "t_1st_train" {
    command = "train"
    env = {
      SHARDWISE_ORIGINAL_NAME = "1st:train"
    }
    signature  = "trainer"
    type       = "service"
    depends_on = [task.prep_stage]

    input {
      from = task.prep_stage_2.output.features
      path = "data/f"
    }
  }

  task "report" {
    command = "report"

    input {
      from = task.prep_stage_2.output.raw_log
    }

    split {
      input_size = "400GiB"
      max_shards = 32
    }
  }

  task "fan" {
    command    = "fan"
    depends_on = [task.report]

    split {
      items = 1000
    }
  }
}
