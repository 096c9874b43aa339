# cpu-heavy with 200 instances, so that many-allocs.hcl's split is cut
# into 200 pieces (the planner makes at most one piece per instance).
executor "cpu-heavy" {
  instances = 200
}
