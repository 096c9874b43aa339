graph "g" {
  task "prepare" {
    command = "/bin/true"
    output "features" {}
  }

  task "train" {
    command = "/bin/true"
    input {
      from = task.prepar.output.features
    }
  }
}
