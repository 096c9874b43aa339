variable "shards" {
  default = 4
}
