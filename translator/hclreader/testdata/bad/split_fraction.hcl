graph "g" {
  task "work" {
    command = "/bin/true"
    split {
      items      = 1e400
      max_shards = 1.5
    }
  }
}
