# Catalog of `make bench-replay` (docs/replay.md): the default catalog's
# classes, instances and speeds, with start-up latencies calibrated on the
# local replay cluster (e2e/cluster.CapacityClasses on this machine):
# registered -> task running is 1-2 s on every class here, where the
# default catalog's 5-30 s model cloud nodes pulling images.

executor "cpu-heavy" {
  performance {
    startup = "1.5s"
  }
}

executor "memory-intensive" {
  performance {
    startup = "1.5s"
  }
}

executor "io-bound" {
  performance {
    startup = "1.5s"
  }
}

executor "gpu-accelerated" {
  performance {
    startup = "1.5s"
  }
}

executor "low-latency" {
  performance {
    startup = "1.5s"
  }
}
