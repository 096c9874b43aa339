variable "shards" {
  type    = number
  default = "many"
}

graph "g" {
  task "work" {
    command = "/bin/true"
  }
}
