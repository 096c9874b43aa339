# Catalog of `make bench-replay` (docs/replay.md): the default catalog's
# classes, instances and speeds, with the start-up latency calibrated on
# the local replay cluster (e2e/cluster.CapacityClasses, 13 clients on this
# 2-core machine) from the quiet six-trace replay of 2026-12-05: ready ->
# running on a free slot = the launcher's reaction (0.38 s) + one placement
# (0.05 s) + the class's mean placed -> running (cpu-heavy 1.04 s, the
# others 1.27-1.31 s), rounded to 0.1 s. The default catalog's 5-30 s
# model cloud nodes that pull images. Runs made before this calibration
# were planned with docs/replay-catalog-startup-2.5s.hcl; each run stores
# the catalog it was planned with (replay.Run.Catalog).

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
