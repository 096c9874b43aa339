graph "g" {
  task "prepare" {
    command = "/bin/true"
  }

  task "prepare" {
    command = "/bin/false"
  }
}
