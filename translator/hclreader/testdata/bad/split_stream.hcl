graph "g" {
  task "record" {
    command = "/bin/true"
    output "frames" {
      stream = true
    }
    split {
      items = 10
    }
  }
}
