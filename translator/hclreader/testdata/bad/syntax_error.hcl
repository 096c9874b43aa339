graph "g" {
  task "work" {
    command = "/bin/true"
    args    = ["a", "b"
  }
}
