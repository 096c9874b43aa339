graph "g" {
  task "prepare" {
    command = "/bin/true"
    hints {
      runtime = "ten minutes"
    }
  }
}
