graph "g" {
  task "a" {
    command = "x"
    output "o" {
      path = "out/x"
    }
    output "p" {
      path = "out/./x"
    }
  }
}
