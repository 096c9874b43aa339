graph "g" {
  task "a" {
    command = "/bin/true"
    output "o" {
      size = "1GiB"
    }
  }
  task "b" {
    command = "/bin/true"
    input {
      from = task.a.output.o
    }
    input {
      from = task.a.output.o
      path = "in/again"
    }
  }
}
