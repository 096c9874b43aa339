# bench/replay/catalog.hcl with the start-ups calibrated on the quiet
# six-trace replay of 2026-12-05 (docs/replay.md): ready -> running on a
# free slot = the launcher's reaction (0.38 s) + one placement (0.05 s) +
# the class's mean placed -> running (cpu-heavy 1.04 s, the others
# 1.27-1.31 s), rounded to 0.1 s. Used for the second set of 1000genome
# pairs in docs/replay.md (`-catalog` this file); the next full
# bench-replay should plan with it.

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
