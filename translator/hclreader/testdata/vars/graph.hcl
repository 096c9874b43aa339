variable "shards" {
  type    = number
  default = 4
}

variable "dataset" {
  type        = string
  description = "Where the input lives; no default, so it must be given."
}

variable "sources" {
  type    = list(string)
  default = ["a"]
}

variable "debug" {
  type    = bool
  default = false
}

graph "vars" {
  task "work" {
    command = "/bin/echo"
    args    = [var.dataset, var.shards, join(",", var.sources), var.debug]
  }
}
