# Task "train" asks for more GPUs than any class of the default catalog
# has: plan and simulate must say so at its declaration, file:line:col.
graph "too-big" {
  task "prepare" {
    command = "/bin/true"
  }

  task "train" {
    command    = "/bin/true"
    depends_on = [task.prepare]
    hints {
      gpus = 9
    }
  }
}
