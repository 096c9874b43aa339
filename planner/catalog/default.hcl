# Shardwise's default executor catalog: five classes, one per workload
# profile. A user catalog (shardwise --catalog FILE) overrides classes by
# name and adds new ones; see docs/catalog.md.
#
# Speeds are relative to cpu-heavy, the reference class: imported traces
# that name no class are read as having run there. gpu = 0 means the class
# cannot run GPU work at all.

reference = "cpu-heavy"

executor "cpu-heavy" {
  description = "Compute-optimised nodes: many fast cores, moderate memory."
  node_class  = "cpu-heavy"
  node_pool   = "default"

  instance {
    cpu    = 48000 # MHz: 16 cores x 3.0 GHz
    cores  = 16
    memory = "32GiB"
    disk   = "200GiB"
  }
  instances = 8

  performance {
    cpu       = 1.0
    memory    = 1.0
    io        = 1.0
    gpu       = 0
    latency   = 1.0
    bandwidth = "1.25GB" # per second: 10 Gbit/s
    startup   = "5s"
  }
}

executor "memory-intensive" {
  description = "High-memory nodes for large in-memory working sets."
  node_class  = "memory-intensive"
  node_pool   = "default"

  instance {
    cpu    = 20000 # MHz: 8 cores x 2.5 GHz
    cores  = 8
    memory = "256GiB"
    disk   = "500GiB"
  }
  instances = 4

  performance {
    cpu       = 0.8
    memory    = 1.6
    io        = 1.0
    gpu       = 0
    latency   = 0.9
    bandwidth = "1.25GB"
    startup   = "10s"
  }
  oversubscribe = true
}

executor "io-bound" {
  description = "Storage-optimised nodes: local NVMe and a fast network."
  node_class  = "io-bound"
  node_pool   = "default"

  instance {
    cpu    = 20000 # MHz: 8 cores x 2.5 GHz
    cores  = 8
    memory = "64GiB"
    disk   = "2TiB"
  }
  instances = 6

  performance {
    cpu       = 0.8
    memory    = 1.0
    io        = 2.5
    gpu       = 0
    latency   = 1.0
    bandwidth = "3.125GB" # 25 Gbit/s
    startup   = "5s"
  }
}

executor "gpu-accelerated" {
  description = "Nodes with one 80 GiB data-centre GPU for training and inference."
  node_class  = "gpu-accelerated"
  node_pool   = "default"

  device "nvidia/gpu" {
    constraint {
      attribute = "${device.attr.memory}"
      operator  = ">="
      value     = "40 GiB"
    }
  }

  instance {
    cpu        = 40000 # MHz: 16 cores x 2.5 GHz
    cores      = 16
    memory     = "128GiB"
    disk       = "500GiB"
    gpus       = 1
    gpu_memory = "80GiB"
  }
  instances = 2

  performance {
    cpu       = 0.9
    memory    = 1.2
    io        = 1.0
    gpu       = 1.0
    latency   = 1.0
    bandwidth = "3.125GB"
    startup   = "30s" # image pull and driver start
  }
}

executor "low-latency" {
  description = "Few fast cores kept warm for services and latency targets."
  node_class  = "low-latency"
  node_pool   = "default"

  instance {
    cpu    = 14000 # MHz: 4 cores x 3.5 GHz
    cores  = 4
    memory = "16GiB"
    disk   = "50GiB"
  }
  instances = 6

  performance {
    cpu       = 0.9
    memory    = 1.0
    io        = 1.0
    gpu       = 0
    latency   = 2.0
    bandwidth = "1.25GB"
    startup   = "1s"
  }
  service = true
}
