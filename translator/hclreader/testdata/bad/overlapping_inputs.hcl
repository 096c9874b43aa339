graph "g" {
  task "a" {
    command = "x"
    output "o" {}
    output "p" {}
    output "q" {}
  }
  task "b" {
    command = "y"
    input {
      from = task.a.output.o
      path = "in/x"
    }
    input {
      from = task.a.output.p
      path = "in/x/y"
    }
    input {
      from = task.a.output.q
      path = "in/./x"
    }
  }
}
