graph "g" {
  task "a" {
    command = "/bin/true"
  }
  task "b" {
    command    = "/bin/true"
    depends_on = [task.a,
    task.a]
  }
}
