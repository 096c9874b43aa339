graph "g" {
  task "work" {
    command = "/bin/true"
    split {
      input_size = "1GiB"
      items      = 100
    }
  }
}
