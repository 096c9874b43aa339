# Catalog of `make bench-replay` (docs/replay.md): the default catalog's
# classes, instances and speeds, with the start-up latency calibrated on
# the local replay cluster (e2e/cluster.CapacityClasses, 13 clients on this
# 2-core machine): from a shard's being ready to its task running took
# 2-4.5 s on every class in a calibration run of blast (launcher reaction
# about 1 s, registered -> running 1.3-3.5 s), where the default catalog's
# 5-30 s model cloud nodes that pull images. See docs/replay.md.

executor "cpu-heavy" {
  performance {
    startup = "1.5s"
  }
}

executor "memory-intensive" {
  performance {
    startup = "1.7s"
  }
}

executor "io-bound" {
  performance {
    startup = "1.7s"
  }
}

executor "gpu-accelerated" {
  performance {
    startup = "1.7s"
  }
}

executor "low-latency" {
  performance {
    startup = "1.7s"
  }
}
