graph "one" {
  task "a" {
    command = "/bin/true"
  }
}

graph "two" {
  task "b" {
    command = "/bin/true"
  }
}
