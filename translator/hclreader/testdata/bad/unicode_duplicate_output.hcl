graph "g" {
  task "a" {
    command = "/bin/true"
    output "café" {}
    output "café" {}
  }
}
