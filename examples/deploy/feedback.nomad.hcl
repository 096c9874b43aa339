# The Shardwise feedback service as a Nomad service job: it follows Nomad's
# event stream and records every Shardwise allocation into a SQLite history
# store kept on a host volume, and serves Prometheus metrics registered in
# Consul (tag "prometheus") for Prometheus's consul_sd_configs.
#
#   nomad job run \
#     -var 'shardwise_url=https://releases.example.com/shardwise_linux_amd64' \
#     -var 'shardwise_checksum=sha256:<hex>' feedback.nomad.hcl
#
# fetches the binary into the task's local/ (go-getter: http(s), s3, gcs;
# a download that does not match the checksum fails the task). Without
# shardwise_url the task runs shardwise_command, a binary installed on the
# client under /usr (the exec chroot holds /usr). Needs a client with the
# host volume "shardwise-history" (see client.hcl). Run one instance only:
# the store has one writer. See docs/feedback.md (Deploying); the e2e test
# TestFeedbackJobRecordsARun runs this file as it is.

variable "datacenters" {
  type    = list(string)
  default = ["dc1"]
}

variable "shardwise_url" {
  type        = string
  default     = ""
  description = "Where go-getter fetches the shardwise binary (http(s), s3, gcs); empty: run shardwise_command instead."
}

variable "shardwise_checksum" {
  type        = string
  default     = ""
  description = "The binary's checksum at shardwise_url, TYPE:HEX (e.g. sha256:...); Nomad refuses the job when shardwise_url is set without one."
}

variable "shardwise_command" {
  type        = string
  default     = "/usr/local/bin/shardwise"
  description = "Path of the shardwise binary installed on the client, used when shardwise_url is empty."
}

variable "user" {
  type        = string
  default     = "nobody"
  description = "User the service runs as (exec's default); it must be able to write the host volume's directory."
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
      user   = var.user

      volume_mount {
        volume      = "history"
        destination = "/var/lib/shardwise"
      }

      # The binary, fetched and checked before the task starts; Nomad makes
      # the command executable.
      dynamic "artifact" {
        for_each = var.shardwise_url != "" ? [var.shardwise_url] : []
        content {
          source      = artifact.value
          destination = "local/shardwise"
          mode        = "file"

          options {
            checksum = var.shardwise_checksum
          }
        }
      }

      env {
        NOMAD_ADDR = var.nomad_addr != "" ? var.nomad_addr : "http://${attr.unique.network.ip-address}:4646"
      }

      config {
        command = var.shardwise_url != "" ? "local/shardwise" : var.shardwise_command
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
