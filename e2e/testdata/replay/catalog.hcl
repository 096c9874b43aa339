# Catalog of the replay e2e test (e2e/replay_test.go): the default classes
# with 2 instances each (one Nomad client of 2 reservable cores per class,
# cluster.CapacityClasses), start-up as measured on the local cluster, and
# two classes half as fast at cpu work as the reference, so that a wrong
# placement costs real time and the speed emulation is plain to measure.

executor "cpu-heavy" {
  instances = 2
  performance {
    startup = "1s"
  }
}

executor "memory-intensive" {
  instances = 2
  performance {
    cpu     = 0.5
    startup = "1s"
  }
}

executor "io-bound" {
  instances = 2
  performance {
    cpu     = 0.5
    startup = "1s"
  }
}

executor "gpu-accelerated" {
  instances = 2
  performance {
    startup = "1s"
  }
}

executor "low-latency" {
  instances = 2
  performance {
    startup = "1s"
  }
}
