graph "g" {
  task "work" {
    command = "/bin/true"
    split {
      max_shards = 8
    }
  }
}
