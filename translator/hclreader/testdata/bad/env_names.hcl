graph "g" {
  task "a" {
    command = "/bin/true"
    env     = { "" = "x", "A=B" = "y", OK = "z" }
  }
}
