graph "g" {
  task "prepare" {
    command = "/bin/true"
    output "features" {}
    output "stats" {}
  }

  task "train" {
    command = "/bin/true"
    input {
      from = task.prepare.output.featurs
    }
  }
}
