variable "shards" {
  default = 4
}

variable "shards" {
  default = 8
}

graph "g" {
  task "prepare" {
    command = "/bin/true"
  }
}
