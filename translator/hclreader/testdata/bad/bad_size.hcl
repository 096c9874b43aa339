graph "g" {
  task "prepare" {
    command = "/bin/true"
    output "features" {
      size = "40 gigs"
    }
  }
}
