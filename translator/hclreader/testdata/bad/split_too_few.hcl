graph "g" {
  task "work" {
    command = "/bin/true"
    split {
      items      = 1
      max_shards = 1
    }
  }
}
