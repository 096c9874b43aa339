# Client agent settings Shardwise needs, to merge into each client's agent
# configuration (nomad agent -config client.hcl ...). Checked by
# `nomad config validate` in e2e/deploy_test.go.

data_dir = "/opt/nomad/data"

client {
  enabled = true

  # The executor class the planner places shards on (${node.class}); one
  # of the catalog's classes, e.g. from `shardwise executors -discover`.
  node_class = "cpu-heavy"

  # Only on the client that runs the feedback service: its history store.
  # The directory must exist and be writable by the job's user (nobody
  # by default): install -d -o nobody /var/lib/shardwise
  host_volume "shardwise-history" {
    path      = "/var/lib/shardwise"
    read_only = false
  }
}

# Holds nomad-driver-shard (examples/deploy/driver-install.nomad.hcl puts
# it there).
plugin_dir = "/opt/nomad/plugins"

plugin "nomad-driver-shard" {
  config {
    bind_addr      = "0.0.0.0"
    port           = 4660
    data_dir       = "/var/lib/nomad-driver-shard"
    channel_secret = "replace-with-a-cluster-wide-secret"

    consul {
      address = "127.0.0.1:8500"
    }
  }
}

# raw_exec runs the driver installer (it writes into plugin_dir) and the
# shards of graphs planned with -driver raw_exec.
plugin "raw_exec" {
  config {
    enabled = true
  }
}

telemetry {
  publish_allocation_metrics = true
  publish_node_metrics       = true
}
