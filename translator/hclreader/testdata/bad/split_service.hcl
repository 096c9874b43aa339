graph "g" {
  task "serve" {
    command = "/bin/true"
    type    = "service"
    split {
      items = 10
    }
  }
}
