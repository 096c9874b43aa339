graph "g" {
  task "work" {
    command = "/bin/true"
    hints {
      kind = "cpu"
    }
    hints {
      kind = "io"
    }
  }
}
