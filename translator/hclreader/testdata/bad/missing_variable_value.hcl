variable "dataset" {
  type = string
}

graph "g" {
  task "work" {
    command = "/bin/true"
    args    = [var.dataset]
  }
}
