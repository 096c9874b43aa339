variable "mode" {
  default = upper("fast")
}

graph "g" {
  task "work" {
    command = "/bin/true"
    args    = [var.mode]
  }
}
