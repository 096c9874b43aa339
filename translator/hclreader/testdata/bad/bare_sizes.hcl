graph "g" {
  task "a" {
    command = "/bin/true"
    output "x" {
      size = 2.5
    }
    hints {
      memory     = 64.5
      disk       = 300
      gpus       = 1
      gpu_memory = 16
    }
  }

  task "b" {
    command = "/bin/true"
    hints {
      memory = 64
    }
  }
}
