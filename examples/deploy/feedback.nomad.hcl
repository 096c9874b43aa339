# The Shardwise feedback service as a Nomad service job: it follows Nomad's
# event stream and records every Shardwise allocation into a SQLite history
# store kept on a host volume, and serves Prometheus metrics registered in
# Consul (tag "prometheus") for Prometheus's consul_sd_configs.
#
#   nomad job run -var 'shardwise_command=/usr/local/bin/shardwise' feedback.nomad.hcl
#
# Needs: the shardwise binary at shardwise_command on the clients, and a
# client with the host volume "shardwise-history" (see client.hcl). Run one
# instance only: the store has one writer. See docs/feedback.md (Deploying).

variable "datacenters" {
  type    = list(string)
  default = ["dc1"]
}

variable "shardwise_command" {
  type        = string
  default     = "/usr/local/bin/shardwise"
  description = "Path of the shardwise binary on the client that runs the service."
}

variable "nomad_addr" {
  type        = string
  default     = ""
  description = "Nomad API address; empty: the agent of the client the service runs on."
}

job "shardwise-feedback" {
  datacenters = var.datacenters
  type        = "service"

  group "feedback" {
    # One writer per SQLite store.
    count = 1

    volume "history" {
      type      = "host"
      source    = "shardwise-history"
      read_only = false
    }

    network {
      port "metrics" {}
    }

    service {
      name     = "shardwise-feedback"
      port     = "metrics"
      provider = "consul"
      tags     = ["prometheus", "shardwise"]

      meta {
        metrics_path = "/metrics"
      }

      check {
        name     = "metrics"
        type     = "http"
        path     = "/metrics"
        interval = "10s"
        timeout  = "2s"
      }
    }

    # The service resumes from the last event index it committed, so a
    # restart loses nothing; keep restarting rather than giving up.
    restart {
      attempts = 10
      interval = "10m"
      delay    = "15s"
      mode     = "delay"
    }

    task "feedback" {
      # exec: isolated, and it mounts the host volume (raw_exec cannot:
      # Nomad refuses host volumes for drivers without mount support).
      # The default chroot holds /usr, so shardwise_command under /usr
      # is visible to the task.
      driver = "exec"

      volume_mount {
        volume      = "history"
        destination = "/var/lib/shardwise"
      }

      env {
        NOMAD_ADDR = var.nomad_addr != "" ? var.nomad_addr : "http://${attr.unique.network.ip-address}:4646"
      }

      config {
        command = var.shardwise_command
        args = [
          "feedback",
          "-history-db", "/var/lib/shardwise/history.db",
          "-metrics-addr", "${NOMAD_ADDR_metrics}",
        ]
      }

      resources {
        cpu    = 200
        memory = 256
      }
    }
  }
}
