graph "g" {
  task "a" {
    command    = "/bin/true"
    depends_on = [task.a]
  }
}
