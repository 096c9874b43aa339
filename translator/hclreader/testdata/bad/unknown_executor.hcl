graph "g" {
  task "train" {
    command = "/bin/true"
    hints {
      executor = "gpu-acelerated"
    }
  }
}
