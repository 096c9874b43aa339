graph "g" {
  task "9lives" {
    command = "/bin/true"
  }
}
