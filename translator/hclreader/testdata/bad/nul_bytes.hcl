graph "g" {
  task "a" {
    command = "x\u0000y"
    args    = ["ok", "a\u0000b"]
    env     = { A = "b\u0000c" }
  }
}
