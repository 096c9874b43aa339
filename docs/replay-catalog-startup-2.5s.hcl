# The catalog `make bench-replay` planned with until 2026-12-05 (it was
# bench/replay/catalog.hcl): the stored runs of docs/replay-runs-*.json.gz
# made before then were planned with it and store no catalog, so a report
# made from them (-from) passes `-catalog docs/replay-catalog-startup-2.5s.hcl`.
# Catalog of `make bench-replay` (docs/replay.md): the default catalog's
# classes, instances and speeds, with the start-up latency calibrated on
# the local replay cluster (e2e/cluster.CapacityClasses, 13 clients on this
# 2-core machine): from a shard's being ready to its task running took
# 2-4.5 s on every class in a calibration run of blast (launcher reaction
# about 1 s, registered -> running 1.3-3.5 s), where the default catalog's
# 5-30 s model cloud nodes that pull images. See docs/replay.md.

executor "cpu-heavy" {
  performance {
    startup = "2.5s"
  }
}

executor "memory-intensive" {
  performance {
    startup = "2.5s"
  }
}

executor "io-bound" {
  performance {
    startup = "2.5s"
  }
}

executor "gpu-accelerated" {
  performance {
    startup = "2.5s"
  }
}

executor "low-latency" {
  performance {
    startup = "2.5s"
  }
}
