graph "g" {
  task "prepare" {
    command = "/bin/true"
    output "features" {}
    output "features" {
      size = "1GiB"
    }
  }
}
