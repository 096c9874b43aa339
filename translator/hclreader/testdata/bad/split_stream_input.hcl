graph "g" {
  task "record" {
    command = "/bin/true"
    output "frames" {
      stream = true
    }
  }

  task "encode" {
    command = "/bin/true"
    input {
      from = task.record.output.frames
    }
    split {
      input_size = "10GiB"
    }
  }
}
