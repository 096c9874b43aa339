graph "g" {
  task "a" {
    command = "/bin/true"
    output "x" {}
  }

  task "b" {
    command    = "/bin/true"
    args       = [task.a.output.x]
    depends_on = [task.a.output.x]
    input {
      from = task.a
    }
  }
}
