graph "g" {
  task "start" {
    command = "/bin/true"
  }

  task "a" {
    command    = "/bin/true"
    depends_on = [task.start, task.c]
    output "x" {}
  }

  task "b" {
    command = "/bin/true"
    input {
      from = task.a.output.x
    }
  }

  task "c" {
    command    = "/bin/true"
    depends_on = [task.b]
  }
}
