graph "g" {
  task "café" {
    command = "/bin/true"
  }

  task "café" {
    command = "/bin/true"
  }
}
