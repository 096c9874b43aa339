variable "unused" {
  default = 1
}

graph "g" {
  datacenters = ["dc1"]
}
