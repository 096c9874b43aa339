graph "g" {
  task "prepare" {
    command = "/bin/true"
  }

  task "train" {
    command    = "/bin/true"
    depends_on = [task.prepare, task.cleanup]
  }
}
