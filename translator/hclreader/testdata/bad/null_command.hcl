graph "g" {
  task "a" {
    command = null
  }
}
