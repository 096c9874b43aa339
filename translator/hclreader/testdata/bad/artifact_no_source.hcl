graph "g" {
  task "a" {
    command = "/bin/true"
    artifact {
      source = null
    }
    artifact {
      source = " "
    }
  }
}
