# A catalog that believes memory-intensive instances have 1 TiB, while the
# test cluster's memory-intensive node has 256 GiB: the planner accepts a
# 600 GiB shard there, and only Nomad can tell it will never fit.
executor "memory-intensive" {
  instance {
    memory = "1TiB"
  }
}
