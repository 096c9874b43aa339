graph "g" {
  priority = 101
  driver   = "docker"

  task "work" {
    command = "/bin/true"
    type    = "cron"
    args    = { a = "b" }
    hints {
      kind  = "disk"
      cores = 2.5
    }
  }
}
