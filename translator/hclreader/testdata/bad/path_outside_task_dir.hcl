graph "g" {
  task "a" {
    command = "x"
    output "up" {
      path = "../../etc/passwd"
    }
    output "abs" {
      path = "/abs/out"
    }
  }
  task "b" {
    command = "y"
    input {
      from = task.a.output.up
      path = "/etc/shadow"
    }
    input {
      from = task.a.output.abs
      path = ""
    }
  }
}
