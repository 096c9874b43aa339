variable "shards" {
  default = 4
}

graph "g" {
  task "prepare" {
    command = "/bin/true"
    args    = ["--shards", var.shrads]
  }
}
