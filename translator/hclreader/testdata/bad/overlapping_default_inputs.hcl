graph "g" {
  task "x" {
    command = "a"
    output "y-z" {}
  }
  task "x-y" {
    command = "a"
    output "z" {}
  }
  task "b" {
    command = "y"
    input {
      from = task.x.output.y-z
    }
    input {
      from = task.x-y.output.z
    }
  }
}
