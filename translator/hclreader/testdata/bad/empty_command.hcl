graph "g" {
  task "a" {
    command = ""
  }

  task "b" {
    command = "  \t "
    args    = ["x"]
  }
}
