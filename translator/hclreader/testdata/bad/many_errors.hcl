graph "g" {
  task "a" {
    command = "/bin/true"
    output "x" {
      size = "lots"
    }
    hints {
      latency  = "soon"
      executor = "quantum"
    }
  }

  task "b" {
    command = "/bin/true"
    input {
      from = task.a.output.y
    }
    depends_on = [task.z]
  }
}
